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

-- Person linkage standardisation ----------------------------------------------------------------

-- A name as linkage compares it: capitals, no accents (ł and ø too), no apostrophes or full stops,
-- hyphens and other marks as single spaces ("O’Brien-Smith" -> "OBRIEN SMITH").
create or replace macro name_std(raw_name) as (
    nullif(trim(regexp_replace(
        regexp_replace(upper(translate(strip_accents(raw_name), 'ŁłØøßĐđ', 'LlOosDd')), '[''’‘`.]', '', 'g'),
        '[^A-Z]+', ' ', 'g')), '')
);

-- The consonant skeleton of a name: first letter, then the consonants other than H, W and Y with
-- doubled letters collapsed. Transliterations share one: Mohammed/Muhammad -> MD,
-- Choudhry/Chowdhury -> CDR, Nasreen/Nasrin -> NSRN.
create or replace macro name_skeleton(std_name) as (
    case when std_name is not null then array_to_string(list_filter(
        string_split(left(replace(replace(replace(std_name, ' ', ''), 'PH', 'F'), 'CK', 'K'), 1)
            || regexp_replace(substr(replace(replace(replace(std_name, ' ', ''), 'PH', 'F'), 'CK', 'K'), 2), '[AEIOUHWY]', '', 'g'), ''),
        lambda letter, i: i = 1 or letter <> string_split(left(replace(replace(replace(std_name, ' ', ''), 'PH', 'F'), 'CK', 'K'), 1)
            || regexp_replace(substr(replace(replace(replace(std_name, ' ', ''), 'PH', 'F'), 'CK', 'K'), 2), '[AEIOUHWY]', '', 'g'), '')[i - 1]
    ), '') end
);

-- The flat of an address: "Flat 2, 14 Oak Road", "Flat 2 14 Oak Road", "Flat No 2, 14 Oak Road",
-- "14 OAK ROAD FLAT 2", "2/14 Oak Rd" and "2, 14 Oak Road" all give "2".
create or replace macro address_flat(raw_address) as (
    nullif(trim(coalesce(
        nullif(regexp_extract(upper(raw_address),
            '\b(?:FLAT|APARTMENT|APT|UNIT|STUDIO)(?:\s+NO\.?|\s+NUMBER)?\s*([0-9]+[A-Z]?|\s[A-Z]{1,2})\b', 1), ''),
        nullif(regexp_extract(upper(raw_address), '^\s*([0-9]+[A-Z]?)\s*/\s*[0-9]', 1), ''),
        regexp_extract(upper(raw_address), '^\s*([0-9]+[A-Z]?)\s*,\s*[0-9]', 1)
    )), '')
);

-- The address without its flat, in capitals: the part that names the building and street
-- ("10, Oak Road" is 10 Oak Road).
create or replace macro address_building(raw_address) as (
    trim(regexp_replace(regexp_replace(regexp_replace(upper(raw_address),
        '\b(?:FLAT|APARTMENT|APT|UNIT|STUDIO)(?:\s+NO\.?|\s+NUMBER)?\s*(?:[0-9]+[A-Z]?|\s[A-Z]{1,2})\b\s*,?', '', 'g'),
        '^\s*[0-9]+[A-Z]?\s*[/,]\s*([0-9])', '\1'),
        '^\s*([0-9]+[A-Z]?)\s*,\s*([A-Z])', '\1 \2'))
);

-- The words of a street, capitals and digits only ("14 Oak Rd." -> [14, OAK, RD]).
create or replace macro street_words(street) as (
    string_split(trim(regexp_replace(regexp_replace(street, '[^A-Z0-9 ]', ' ', 'g'), '\s+', ' ', 'g')), ' ')
);

-- Where a street's name starts: after its house number, where it has one.
create or replace macro street_name_start(words) as (
    case when regexp_full_match(words[1], '[0-9]+[A-Z]?') then 2 else 1 end
);

-- Street types written out (street_types: word -> type, from cfg_street_type / street_types.yaml),
-- so "14 Oak Rd" meets "14 OAK ROAD". A street is named before its type, so the name's first word
-- stays as written ("14 ST MARYS RD" is 14 ST MARYS ROAD).
-- (A macro's argument is written out wherever the body names it, inside a lambda once per word:
-- a value used more than once is bound once, as the parameter of a lambda over a one-item list.)
create or replace macro street_words_std(words, street_types) as (
    list_transform([street_name_start(words)], lambda start:
        list_transform(words, lambda word, i:
            case when i > start then coalesce(street_types[word], word) else word end)
    )[1]
);

-- A house number and street up to its last street type after the name's first word, where it has
-- one ("14 OAK ROAD HEATON" is 14 OAK ROAD); other streets as they are. `types`: the street types.
create or replace macro street_through_type(words, types) as (
    list_transform([list_max(list_transform(words, lambda word, i:
            case when i > 2 and list_contains(types, word) then i end))], lambda last_type:
        case
            when street_name_start(words) = 2 and last_type is not null
                then list_slice(words, 1, last_type)
            else words
        end
    )[1]
);

-- A street as the dwelling key writes it: types written out, cut after the last.
create or replace macro street_std(street, street_types) as (
    list_transform([street_words(street)], lambda words:
        list_transform([street_words_std(words, street_types)], lambda standard:
            list_transform([map_values(street_types)], lambda types:
                array_to_string(street_through_type(standard, types), ' ')
            )[1]
        )[1]
    )[1]
);

-- One key per dwelling (from an address's flat and building): flat, house number and street ("2 14 OAK ROAD"); without a house number,
-- the first line of the address. Where no comma ends the street, what follows its last street
-- word is dropped ("14 OAK ROAD HEATON BRADFORD" is 14 OAK ROAD). `street_types` as street_std.
create or replace macro dwelling_key(flat, building, street_types) as (
    concat_ws(' ',
        flat,
        street_std(coalesce(
            nullif(regexp_extract(building, '(?:^|,)\s*([0-9]+[A-Z]?\s+[A-Z][A-Z ]*?)\s*(?:,|$)', 1), ''),
            split_part(building, ',', 1)
        ), street_types))
);

-- The same from the address as recorded (int_linkage_record computes its parts once per address).
create or replace macro address_key(raw_address, street_types) as (
    case when nullif(trim(raw_address), '') is not null then
        dwelling_key(address_flat(raw_address), address_building(raw_address), street_types)
    end
);

-- Multi-line addresses whose last line is the postcode (the Family Context extracts) -----------

-- The lines of an address, trimmed, blank lines dropped.
create or replace macro address_lines(raw_address) as (
    list_filter(
        list_transform(string_split_regex(raw_address, '\r\n|\r|\n'),
                       lambda text: regexp_replace(text, '^\s+|\s+$', '', 'g')),
        lambda text: text <> ''
    )
);

-- Whether the last line looks like a UK postcode.
create or replace macro ends_with_postcode(lines) as (
    coalesce(regexp_full_match(upper(lines[-1]), '[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}'), false)
);

-- The address on one line without its postcode line; and that postcode, normalised.
create or replace macro address_before_postcode(lines) as (
    one_line_address(array_to_string(
        case when ends_with_postcode(lines) then list_slice(lines, 1, len(lines) - 1) else lines end,
        chr(10)))
);

create or replace macro postcode_line(lines) as (
    case when ends_with_postcode(lines) then normalise_postcode(lines[-1]) end
);

-- Outcomes plan: meeting a threshold and the eligibility rule, defined once -----------------------

-- A value meets a plan threshold when direction * (value - threshold) >= slack: direction is 1
-- when more is better, -1 when less is; the slack (cfg_plan_indicator / cfg_plan_measure, from
-- data_model/plan/tables.py) lets a rate exactly at the threshold meet at_least / at_most and not
-- above / below.
create or replace macro meets_threshold(value, threshold, direction, slack) as (
    direction * (value - threshold) >= slack
);

-- A family meets the plan's eligibility rule when it has at least eligibility_at_least (cfg_plan)
-- of the plan's problems at the time.
create or replace macro meets_eligibility_rule(problem_count, eligibility_at_least) as (
    problem_count >= eligibility_at_least
);

-- Outcomes plan: what "near" means, defined once --------------------------------------------------

-- A measure is near its threshold when it can still be met in time and its distance to the
-- threshold is within the margin (the plan's margin for its unit, or a what-if margin on a page).
create or replace macro measure_is_near(can_still_be_met, distance_to_threshold, margin) as (
    coalesce(can_still_be_met and distance_to_threshold <= margin, false)
);

-- A family's claim route is near when every blocker is a near measure and there are at most the
-- plan's `near_max_blocking_measures` of them, or (when the plan says so) everything is met but
-- one measure. Blockers are what stands between the family and the route: measures not yet met,
-- problems not yet evidenced, an invalid attachment.
create or replace macro route_is_near(
    blockers, near_blockers, measure_blockers, max_blocking_measures, all_met_but_one
) as (
    coalesce(
        blockers between 1 and max_blocking_measures and near_blockers = blockers
        or all_met_but_one and blockers = 1 and measure_blockers = 1,
        false
    )
);

-- Load problems -----------------------------------------------------------------------------------

-- A reject's or set-aside value's reason without the value it names or its particulars, so that
-- reasons can be counted: "'x' is not a date (expected ...)" -> "Date of Birth is not a date";
-- "duplicate key (Referral ID R1) also on line 2" -> "duplicate key". `subject` names the value
-- (the column's name, or 'value').
create or replace macro reason_gist(reason, subject) as (
    case
        when reason like 'duplicate row%' then 'duplicate row'
        when reason like 'duplicate key%' then 'duplicate key'
        when reason = 'does not match the expected pattern'
            then coalesce(subject || ' ', '') || reason
        else regexp_replace(regexp_replace(regexp_replace(
            reason, '^''.*'' (is |stands |does |read )', coalesce(subject, 'a value') || ' \1', 's'),
            ' \(expected [^)]*\)$', ''), '(, received|, as) .*$', '')
    end
);
