{#- Jinja macros for the staging models (dbt keeps such macros in macros/).

person_identity: the columns every person-bearing source gives linkage, named and standardised
the same way everywhere (int_person_record unions them): which source, the row's and the person's
ids in that system, then name, date of birth, sex, address and postcode. Each argument is the
source's SQL expression for the value; the defaults are the standard cleaning, which a source
overrides only where its extract differs (a name in one field, an address in lines, no sex).
-#}
{% macro person_identity(
    source_name,
    record_id,
    person_id,
    first_name="first_name",
    last_name="last_name",
    dob="dob",
    sex="normalise_sex(sex)",
    address="one_line_address(address)",
    postcode="normalise_postcode(postcode)"
) -%}
'{{ source_name }}' as source,
        {{ record_id }} as source_record_id,
        {{ person_id }} as source_person_id,
        {{ first_name }} as first_name,
        {{ last_name }} as last_name,
        {{ dob }} as dob,
        {{ sex }} as sex,
        {{ address }} as address,
        {{ postcode }} as postcode
{%- endmacro %}
