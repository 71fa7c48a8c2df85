-- values: stays
SELECT
  d_aldersgruppe,
  d_koen,
  d_maaned,
  GROUPING(d_aldersgruppe) AS g_aldersgruppe,
  GROUPING(d_koen) AS g_koen,
  GROUPING(d_maaned) AS g_maaned,
  SUM(CASE WHEN c_admission THEN 1 ELSE 0 END) AS m_indlaeggelser,
  COUNT(DISTINCT CASE WHEN c_admission THEN p_person END) AS n_indlaeggelser,
  SUM(DISTINCT CASE WHEN c_admission THEN p_person END) AS kn_indlaeggelser,
  SUM(CASE WHEN c_admission THEN c_rk END) AS k_indlaeggelser,
  SUM(c_bed_days) AS m_sengedage,
  COUNT(DISTINCT CASE WHEN c_bed_days <> 0 THEN p_person END) AS n_sengedage,
  SUM(DISTINCT CASE WHEN c_bed_days <> 0 THEN p_person END) AS kn_sengedage,
  SUM(CASE WHEN c_bed_days <> 0 THEN c_rk END) AS k_sengedage,
  MAX(CASE WHEN c_bed_days <> 0 THEN ABS(c_bed_days) END) AS x_sengedage
FROM (
  SELECT
    l_aldersgruppe.band_koes AS d_aldersgruppe,
    f.sex AS d_koen,
    CAST(f.year AS INT) * 100 + f.month AS d_maaned,
    f.person_id AS p_person,
    f.admission AS c_admission,
    f.rk AS c_rk,
    f.bed_days AS c_bed_days
  FROM stays AS f
  LEFT JOIN dim_age AS l_aldersgruppe
    ON l_aldersgruppe.age = f.age
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2024 AND 2024
    AND CAST(f.year AS INT) * 100 + f.month BETWEEN 202401 AND 202406
    AND f.sector IN ('somatik')
    AND (
      f.admission OR f.bed_days <> 0
    )
) AS t
GROUP BY
  GROUPING SETS (
    (d_aldersgruppe, d_koen, d_maaned),
    (d_aldersgruppe, d_koen),
    (d_maaned),
    ()
  );
