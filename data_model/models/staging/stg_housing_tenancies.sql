-- Council tenancies, one row per tenancy and tenant; "SURNAME, Forename" split into two names.
with source as (
    select * from {{ source('raw', 'raw_housing_tenancies') }}
),

renamed as (
    select
        'housing_tenancies' as source,
        tenancy_ref || '-' || tenant_no as source_record_id,
        tenancy_ref || '-' || tenant_no as source_person_id,
        tenancy_ref,
        tenant_no,
        trim(case when contains(tenant_name, ',')
            then split_part(tenant_name, ',', 2) end) as first_name,
        trim(case when contains(tenant_name, ',')
            then split_part(tenant_name, ',', 1) else tenant_name end) as last_name,
        dob,
        'U' as sex,
        one_line_address(address) as address,
        normalise_postcode(postcode) as postcode,
        tenancy_start as record_date,
        tenancy_start,
        tenancy_end,
        coalesce(rent_arrears, 0) as rent_arrears,
        nosp_served_date,
        eviction_date,
        extract_date
    from source
)

select * from renamed
