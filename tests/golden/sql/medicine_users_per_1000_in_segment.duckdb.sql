-- values: person_year_medicine_total
SELECT
  d_aldersgruppe,
  GROUPING(d_aldersgruppe) AS g_aldersgruppe,
  COUNT(DISTINCT CASE WHEN c_sales > 0 THEN u_unit END) AS m_medicinbrugere__aar,
  SUM(DISTINCT CASE WHEN c_sales > 0 THEN u_unit END) AS k_medicinbrugere__aar,
  COUNT(DISTINCT CASE WHEN c_sales > 0 THEN p_person END) AS n_medicinbrugere__aar,
  SUM(DISTINCT CASE WHEN c_sales > 0 THEN p_person END) AS kn_medicinbrugere__aar,
  SUM(c_price_kr) AS m_medicinudgift_kr,
  COUNT(DISTINCT CASE WHEN c_e_price_kr > 0 THEN p_person END) AS n_medicinudgift_kr,
  SUM(DISTINCT CASE WHEN c_e_price_kr > 0 THEN p_person END) AS kn_medicinudgift_kr,
  SUM(CASE WHEN c_e_price_kr > 0 THEN c_k_price_kr END) AS k_medicinudgift_kr,
  MAX(CASE WHEN c_e_price_kr > 0 THEN c_x_price_kr END) AS x_medicinudgift_kr
FROM (
  SELECT
    l_aldersgruppe.band_koes AS d_aldersgruppe,
    f.person_id AS p_person,
    CAST(f.year AS BIGINT) * 17592186044416 + f.person_id AS u_unit,
    f.sales AS c_sales,
    f.price_kr AS c_price_kr,
    f.k_price_kr AS c_k_price_kr,
    f.e_price_kr AS c_e_price_kr,
    f.x_price_kr AS c_x_price_kr
  FROM person_year_medicine_total AS f
  LEFT JOIN dim_age AS l_aldersgruppe
    ON l_aldersgruppe.age = f.age
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2023 AND 2024
    AND EXISTS(
      SELECT
        1
      FROM person_year AS s
      WHERE
        s.person_id = f.person_id AND s.year = f.year AND s.diabetes = TRUE
    )
    AND (
      f.sales > 0 OR f.e_price_kr > 0
    )
) AS t
GROUP BY
  GROUPING SETS (
    (d_aldersgruppe),
    ()
  );

-- citizens: residents_year
SELECT
  d_aldersgruppe,
  GROUPING(d_aldersgruppe) AS g_aldersgruppe,
  COUNT(DISTINCT u_unit) AS m_borgere_i_risiko,
  SUM(DISTINCT u_unit) AS k_borgere_i_risiko,
  COUNT(DISTINCT p_person) AS n_borgere_i_risiko,
  SUM(DISTINCT p_person) AS kn_borgere_i_risiko
FROM (
  SELECT
    l_aldersgruppe.band_koes AS d_aldersgruppe,
    f.person_id AS p_person,
    CAST(f.year AS BIGINT) * 17592186044416 + f.person_id AS u_unit
  FROM residents_year AS f
  LEFT JOIN dim_age AS l_aldersgruppe
    ON l_aldersgruppe.age = f.age
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2023 AND 2024
    AND EXISTS(
      SELECT
        1
      FROM person_year AS s
      WHERE
        s.person_id = f.person_id AND s.year = f.year AND s.diabetes = TRUE
    )
) AS t
GROUP BY
  GROUPING SETS (
    (d_aldersgruppe),
    ()
  );

-- citizens: residents_year
SELECT
  d_aldersgruppe,
  GROUPING(d_aldersgruppe) AS g_aldersgruppe,
  COUNT(DISTINCT u_unit) AS m_borgertid,
  SUM(DISTINCT u_unit) AS k_borgertid,
  COUNT(DISTINCT p_person) AS n_borgertid,
  SUM(DISTINCT p_person) AS kn_borgertid
FROM (
  SELECT
    l_aldersgruppe.band_koes AS d_aldersgruppe,
    f.person_id AS p_person,
    CAST(f.year AS BIGINT) * 17592186044416 + f.person_id AS u_unit
  FROM residents_year AS f
  LEFT JOIN dim_age AS l_aldersgruppe
    ON l_aldersgruppe.age = f.age
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2023 AND 2024
    AND EXISTS(
      SELECT
        1
      FROM person_year AS s
      WHERE
        s.person_id = f.person_id AND s.year = f.year AND s.diabetes = TRUE
    )
) AS t
GROUP BY
  GROUPING SETS (
    (d_aldersgruppe),
    ()
  );
