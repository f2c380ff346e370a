{#- The agreement score of an NGO row (`row`: surname/name folded, birth_date, mahalle_core, phone_digits) with a
    registry person (`person`: the same columns), as int_ngo_rows__linked's header explains. The year is equal by
    every blocking rule, so a missing birth date counts as "year only". -#}
{% macro ngo_link_score(row, person) -%}
    case
        when {{ person }}.last_name_folded = {{ row }}.last_name_folded then 4.0
        when levenshtein({{ person }}.last_name_folded, {{ row }}.last_name_folded) <= 1
          or similarity({{ person }}.last_name_folded, {{ row }}.last_name_folded) >= 0.5 then 2.0
        else -3.0
    end
    + case
        when {{ person }}.first_name_folded = {{ row }}.first_name_folded
          or {{ person }}.first_name_folded = split_part({{ row }}.first_name_folded, ' ', 1) then 3.0
        when levenshtein({{ person }}.first_name_folded, {{ row }}.first_name_folded) <= 1
          or similarity({{ person }}.first_name_folded, {{ row }}.first_name_folded) >= 0.5 then 1.5
        else -3.0
    end
    + case
        when {{ row }}.birth_date is null then 0.5
        when {{ person }}.birth_date = {{ row }}.birth_date then 3.0
        else -2.0
    end
    + case
        when {{ row }}.mahalle_core is null then 0.0
        when {{ person }}.mahalle_core = {{ row }}.mahalle_core then 2.0
        else -1.0
    end
    + case
        when {{ row }}.phone_digits is null then 0.0
        when {{ person }}.phone_digits = {{ row }}.phone_digits then 3.0
        else -0.5
    end
{%- endmacro %}

{#- The highest score `row` could reach with a person who shares neither its mahalle nor its phone: names equal
    (4 + 3), the birth term at its best, the mahalle and phone terms as for a person elsewhere. -#}
{% macro ngo_link_score_elsewhere_at_most(row) -%}
    (7.0
     + case when {{ row }}.birth_date is null then 0.5 else 3.0 end
     + case when {{ row }}.mahalle_core is null then 0.0 else -1.0 end
     + case when {{ row }}.phone_digits is null then 0.0 else -0.5 end)
{%- endmacro %}

{#- Each NGO row's candidates (ngo_row_id, person_key, household_key, score and the `carried` columns), best first
    (ties by person_key), each with the score of the one after it: rank 1 carries the runner-up's. -#}
{% macro ranked_link_candidates(candidates, carried=[]) -%}
    select
        ngo_row_id,
        person_key,
        household_key,
        score,
        {%- for column in carried %}
        {{ column }},
        {%- endfor %}
        row_number() over by_score as rank,
        lead(score) over by_score as runner_up_score
    from {{ candidates }}
    window by_score as (partition by ngo_row_id order by score desc, person_key)
{%- endmacro %}
