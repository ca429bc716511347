CREATE TABLE `read_marks` (
	`room_id` text NOT NULL,
	`user_id` text NOT NULL,
	`read_seq` integer NOT NULL,
	PRIMARY KEY(`room_id`, `user_id`)
);
