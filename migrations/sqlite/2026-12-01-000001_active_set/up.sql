-- A user is active unless a write said otherwise: rows no write had set become active, so
-- 'unset' never means anything different from 'true' (Muster writes never leave it unset).
UPDATE users SET active = TRUE WHERE active IS NULL;
