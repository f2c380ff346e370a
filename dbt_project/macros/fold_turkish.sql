{#- Turkish-aware folding for matching names and places: İ/I/ı → i, Ş → s, Ğ → g, Ü → u, Ö → o, Ç → c, then lower
    case and single spaces. Letters are translated before lower(), whose result for İ depends on the locale. -#}
{% macro fold_turkish(expression) -%}
    nullif(btrim(regexp_replace(lower(translate({{ expression }}, 'İIıŞşĞğÜüÖöÇçÂâÎîÛû', 'iiissgguuooccaaiiuu')),
                                '\s+', ' ', 'g')), '')
{%- endmacro %}

{#- A mahalle as people write it (`CUMHURİYET MAH.`, `Cumhuriyet Mahallesi`, `Cumhuriyet`) → its folded core name. -#}
{% macro mahalle_core(expression) -%}
    nullif(btrim(regexp_replace({{ fold_turkish(expression) }}, '\s*(mahallesi|mahalle|mah\.?|mh\.?)$', '')), '')
{%- endmacro %}
