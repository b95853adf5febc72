DROP INDEX users_org_suspended;
