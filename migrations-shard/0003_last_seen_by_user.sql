CREATE TABLE `last_seen` (
	`user_id` text PRIMARY KEY NOT NULL,
	`at` integer NOT NULL
);
