-- Chat edits, deletes, replies and reactions (issue 22): the archive of messages takes each
-- change the room's write-behind copies (guarded by change_seq), and reactions get a table.
CREATE TABLE `message_reactions` (
	`room_id` text NOT NULL,
	`seq` integer NOT NULL,
	`emoji` text NOT NULL,
	`user_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`room_id`, `seq`, `emoji`, `user_id`)
);
--> statement-breakpoint
ALTER TABLE `messages` ADD `reply_to` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `edited_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `deleted_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `change_seq` integer;