-- Residents of each regency/city for per-capita rates: the newest Dukcapil count
-- (administrative, semesterly; census years are another series and are not used).
with penduduk as (
    select * from {{ ref('stg_penduduk') }}
),

final as (
    select
        kode_wilayah,
        periode,
        jumlah_penduduk
    from penduduk
    where periode like '%-S%'
    qualify row_number() over (partition by kode_wilayah order by periode desc) = 1
)

select * from final
