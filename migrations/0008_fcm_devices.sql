ALTER TABLE `devices` ADD `platform` text;--> statement-breakpoint
CREATE UNIQUE INDEX `devices_fcm_token_idx` ON `devices` (`endpoint`) WHERE "devices"."kind" = 'fcm';