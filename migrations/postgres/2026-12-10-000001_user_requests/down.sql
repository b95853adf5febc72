DROP TABLE user_requests;
