DROP INDEX users_org_display_order;
DROP INDEX users_org_login_order;
DROP INDEX users_org_created;
