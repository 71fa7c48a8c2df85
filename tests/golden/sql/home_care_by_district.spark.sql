-- values: home_care
SELECT
  d_plejedistrikt,
  g_plejedistrikt,
  SUM(a_0) AS m_hjemmepleje_timer,
  COUNT(a_1) AS n_hjemmepleje_timer,
  SUM(a_1) AS kn_hjemmepleje_timer,
  SUM(a_2) AS k_hjemmepleje_timer,
  MAX(a_3) AS x_hjemmepleje_timer,
  COUNT(a_4) AS m_hjemmepleje_modtagere,
  SUM(a_4) AS k_hjemmepleje_modtagere
FROM (
  SELECT
    d_plejedistrikt,
    GROUPING(d_plejedistrikt) AS g_plejedistrikt,
    SUM(c_hours_delivered) AS a_0,
    MAX(CASE WHEN c_hours_delivered <> 0 THEN p_person END) AS a_1,
    SUM(CASE WHEN c_hours_delivered <> 0 THEN c_rk END) AS a_2,
    MAX(CASE WHEN c_hours_delivered <> 0 THEN ABS(c_hours_delivered) END) AS a_3,
    MAX(p_person) AS a_4
  FROM (
    SELECT
      f.care_district AS d_plejedistrikt,
      f.person_id AS p_person,
      f.hours_delivered AS c_hours_delivered,
      f.rk AS c_rk
    FROM home_care AS f
    WHERE
      f.kommunekode IN (101, 147, 151) AND f.year BETWEEN 2024 AND 2024
  ) AS t
  GROUP BY
    GROUPING SETS (
      (d_plejedistrikt, p_person),
      (p_person)
    )
) AS t
GROUP BY
  d_plejedistrikt,
  g_plejedistrikt;
