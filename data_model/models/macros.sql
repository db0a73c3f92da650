-- Macros shared by the models. Run before any model.

-- UK postcode in its standard form: upper case, one space before the inward code ("bd87ab" -> "BD8 7AB").
create or replace macro normalise_postcode(raw_postcode) as (
    case
        when length(regexp_replace(upper(raw_postcode), '[^A-Z0-9]', '', 'g')) between 5 and 7
            then left(regexp_replace(upper(raw_postcode), '[^A-Z0-9]', '', 'g'),
                      length(regexp_replace(upper(raw_postcode), '[^A-Z0-9]', '', 'g')) - 3)
                 || ' ' || right(regexp_replace(upper(raw_postcode), '[^A-Z0-9]', '', 'g'), 3)
        else nullif(trim(upper(raw_postcode)), '')
    end
);

-- Sex as one code across sources: M, F or U (unknown / not stated).
create or replace macro normalise_sex(raw_sex) as (
    case upper(trim(raw_sex))
        when 'M' then 'M' when 'MALE' then 'M' when '1' then 'M'
        when 'F' then 'F' when 'FEMALE' then 'F' when '2' then 'F'
        else 'U'
    end
);

-- A multi-line or messy address on one line, single-spaced, comma-separated.
create or replace macro one_line_address(raw_address) as (
    nullif(trim(regexp_replace(regexp_replace(raw_address, '\s*[\r\n]+\s*', ', ', 'g'), '\s+', ' ', 'g')), '')
);
