-- values: population_month
SELECT
  d_aldersgruppe,
  d_koen,
  GROUPING(d_aldersgruppe) AS g_aldersgruppe,
  GROUPING(d_koen) AS g_koen,
  SUM(c_persons) AS m_borgere
FROM (
  SELECT
    l_aldersgruppe.band_koes AS d_aldersgruppe,
    f.sex AS d_koen,
    f.persons AS c_persons
  FROM population_month AS f
  LEFT JOIN dim_age AS l_aldersgruppe
    ON l_aldersgruppe.age = f.age
  WHERE
    f.kommunekode IN (101, 147, 151) AND f.year BETWEEN 2024 AND 2024
) AS t
GROUP BY
  GROUPING SETS (
    (d_aldersgruppe, d_koen),
    (d_aldersgruppe),
    (d_koen),
    ()
  );
