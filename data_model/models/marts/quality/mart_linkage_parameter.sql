-- What each comparison level is worth (Splink's m and u probabilities and match weight).
select * from {{ ref('int_person_link_parameter') }}
order by comparison, level_order
