ALTER TABLE `users` ADD `last_seen_at` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `last_seen_visibility` text DEFAULT 'everyone' NOT NULL;