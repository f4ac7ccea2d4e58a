with indikator as (
    select * from {{ ref('stg_indikator') }}
),

definisi as (
    select * from {{ ref('indikator_definisi') }}
),

kabupaten_kota as (
    select * from {{ ref('dim_wilayah') }}
    where tingkat = 'kabupaten_kota'
),

final as (
    select
        indikator.kode_wilayah,
        kabupaten_kota.nama_wilayah,
        indikator.indikator,
        definisi.nama_indikator,
        indikator.tahun,
        indikator.nilai,
        -- the unit is the indicator's, whatever a regency wrote
        definisi.satuan,
        -- a series groups values that may be compared over time (IPM methods never mix)
        definisi.seri,
        indikator.sumber
    from indikator
    left join definisi
        on indikator.indikator = definisi.indikator
    left join kabupaten_kota
        on indikator.kode_wilayah = kabupaten_kota.kode_wilayah
)

select * from final
order by indikator, tahun, kode_wilayah
