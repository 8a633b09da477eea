CREATE OR REPLACE FUNCTION analytics.customer_fields(
    p_tenant_id uuid,
    p_user_id text
)
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY INVOKER
AS $$
-- The GA system's user fields of every task item, from the customer dimension (user_id,
-- customer_name (the buying company), email, phone (the cell phone) and office_phone); the
-- fields are null when the tenant holds no record of that user (or the user is unknown).
SELECT jsonb_build_object(
           'user_id', p_user_id,
           'customer_name', u.buying_company_name,
           'email', u.email,
           'phone', u.cell_phone,
           'office_phone', u.office_phone)
  FROM (SELECT 1) AS one
  LEFT JOIN analytics.customer_user u
         ON u.tenant_id = p_tenant_id AND u.user_id = p_user_id;
$$;
