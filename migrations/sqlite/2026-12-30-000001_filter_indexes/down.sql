DROP INDEX users_org_display_name;
DROP INDEX users_org_title;
DROP INDEX users_org_department;
DROP INDEX users_org_name_given;
DROP INDEX users_org_name_family;
DROP INDEX users_org_name_formatted;
DROP INDEX users_org_employee_number;
