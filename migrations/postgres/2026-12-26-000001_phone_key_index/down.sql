DROP INDEX user_values_phone_key;
