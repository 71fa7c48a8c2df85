-- values: services
SELECT
  d_kommune,
  d_kvartal,
  GROUPING(d_kommune) AS g_kommune,
  GROUPING(d_kvartal) AS g_kvartal,
  COUNT(DISTINCT u_unit) AS m_praksisbrugere__kvartal,
  SUM(DISTINCT u_unit) AS k_praksisbrugere__kvartal,
  COUNT(DISTINCT p_person) AS n_praksisbrugere__kvartal,
  SUM(DISTINCT p_person) AS kn_praksisbrugere__kvartal
FROM (
  SELECT
    f.kommunekode AS d_kommune,
    CAST(f.year AS INT) * 10 + CAST(FLOOR((
      f.month - 1
    ) / 3) AS INT) + 1 AS d_kvartal,
    f.person_id AS p_person,
    (
      CAST(f.year AS BIGINT) * 4 + CAST(FLOOR((
        f.month - 1
      ) / 3) AS BIGINT)
    ) * 17592186044416 + f.person_id AS u_unit
  FROM services AS f
  WHERE
    f.kommunekode IN (101, 147, 151) AND f.year BETWEEN 2023 AND 2024
) AS t
GROUP BY
  GROUPING SETS (
    (d_kommune, d_kvartal),
    (d_kommune),
    (d_kvartal),
    ()
  );

-- citizens: residents_quarter
SELECT
  d_kommune,
  d_kvartal,
  GROUPING(d_kommune) AS g_kommune,
  GROUPING(d_kvartal) AS g_kvartal,
  COALESCE(SUM(c_persons), 0) + COUNT(DISTINCT u_unit) AS m_borgere_i_risiko
FROM (
  SELECT
    f.kommunekode AS d_kommune,
    CAST(f.year AS INT) * 10 + CAST(FLOOR((
      f.month - 1
    ) / 3) AS INT) + 1 AS d_kvartal,
    f.person_id AS p_person,
    (
      CAST(f.year AS BIGINT) * 4 + CAST(FLOOR((
        f.month - 1
      ) / 3) AS BIGINT)
    ) * 17592186044416 + f.person_id AS u_unit,
    f.persons AS c_persons
  FROM residents_quarter AS f
  WHERE
    f.kommunekode IN (101, 147, 151) AND f.year BETWEEN 2023 AND 2024
) AS t
GROUP BY
  GROUPING SETS (
    (d_kommune, d_kvartal),
    (d_kommune),
    (d_kvartal),
    ()
  );
