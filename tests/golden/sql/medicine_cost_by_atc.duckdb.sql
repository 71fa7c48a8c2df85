-- values: person_year_medicine
SELECT
  d_atc1,
  GROUPING(d_atc1) AS g_atc1,
  SUM(c_price_kr) AS m_medicinudgift_kr,
  COUNT(DISTINCT CASE WHEN c_e_price_kr > 0 THEN p_person END) AS n_medicinudgift_kr,
  SUM(DISTINCT CASE WHEN c_e_price_kr > 0 THEN p_person END) AS kn_medicinudgift_kr,
  SUM(CASE WHEN c_e_price_kr > 0 THEN c_k_price_kr END) AS k_medicinudgift_kr,
  MAX(CASE WHEN c_e_price_kr > 0 THEN c_x_price_kr END) AS x_medicinudgift_kr,
  COUNT(DISTINCT CASE WHEN c_sales > 0 THEN p_person END) AS m_medicinbrugere,
  SUM(DISTINCT CASE WHEN c_sales > 0 THEN p_person END) AS k_medicinbrugere
FROM (
  SELECT
    f.atc1 AS d_atc1,
    f.person_id AS p_person,
    f.price_kr AS c_price_kr,
    f.k_price_kr AS c_k_price_kr,
    f.e_price_kr AS c_e_price_kr,
    f.x_price_kr AS c_x_price_kr,
    f.sales AS c_sales
  FROM person_year_medicine AS f
  WHERE
    f.kommunekode IN (101, 147, 151)
    AND f.year BETWEEN 2024 AND 2024
    AND (
      f.e_price_kr > 0 OR f.sales > 0
    )
) AS t
GROUP BY
  GROUPING SETS (
    (d_atc1),
    ()
  );
