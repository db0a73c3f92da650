-- Council tenancies, one row per tenancy and tenant; "SURNAME, Forename" split into two names.
-- A tenant name may be blank (set aside as a placeholder, or not sent): both names are then null,
-- as is a part left empty ("SMITH," has no forename).
with source as (
    select * from {{ source('raw', 'raw_housing_tenancies') }}
),

renamed as (
    select
        {{ person_identity(
            'housing_tenancies',
            record_id="tenancy_ref || '-' || tenant_no",
            person_id="tenancy_ref || '-' || tenant_no",
            first_name="nullif(trim(case when contains(tenant_name, ',')
                then split_part(tenant_name, ',', 2) end), '')",
            last_name="nullif(trim(case when contains(tenant_name, ',')
                then split_part(tenant_name, ',', 1) else tenant_name end), '')",
            sex="'U'",
        ) }},
        tenancy_ref,
        tenant_no,
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
