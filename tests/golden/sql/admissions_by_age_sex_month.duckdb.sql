-- values: stays
SELECT
  d_aldersgruppe,
  d_koen,
  d_maaned,
  g_aldersgruppe,
  g_koen,
  g_maaned,
  SUM(a_0) AS m_indlaeggelser,
  COUNT(a_1) AS n_indlaeggelser,
  SUM(a_1) AS kn_indlaeggelser,
  SUM(a_2) AS k_indlaeggelser,
  SUM(a_3) AS m_sengedage,
  COUNT(a_4) AS n_sengedage,
  SUM(a_4) AS kn_sengedage,
  SUM(a_5) AS k_sengedage,
  MAX(a_6) AS x_sengedage
FROM (
  SELECT
    d_aldersgruppe,
    d_koen,
    d_maaned,
    GROUPING(d_aldersgruppe) AS g_aldersgruppe,
    GROUPING(d_koen) AS g_koen,
    GROUPING(d_maaned) AS g_maaned,
    SUM(CASE WHEN c_admission THEN 1 ELSE 0 END) AS a_0,
    MAX(CASE WHEN c_admission THEN p_person END) AS a_1,
    SUM(CASE WHEN c_admission THEN c_rk END) AS a_2,
    SUM(c_bed_days) AS a_3,
    MAX(CASE WHEN c_bed_days <> 0 THEN p_person END) AS a_4,
    SUM(CASE WHEN c_bed_days <> 0 THEN c_rk END) AS a_5,
    MAX(CASE WHEN c_bed_days <> 0 THEN ABS(c_bed_days) END) AS a_6
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
      (d_aldersgruppe, d_koen, d_maaned, p_person),
      (d_aldersgruppe, d_koen, p_person),
      (d_maaned, p_person),
      (p_person)
    )
) AS t
GROUP BY
  d_aldersgruppe,
  d_koen,
  d_maaned,
  g_aldersgruppe,
  g_koen,
  g_maaned;
