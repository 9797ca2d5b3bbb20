ALTER TABLE `api_keys` ADD `expires_at` integer;--> statement-breakpoint
ALTER TABLE `part_events` ADD `on_behalf_of` text;--> statement-breakpoint
ALTER TABLE `part_events` ADD `kind` text DEFAULT 'part' NOT NULL;--> statement-breakpoint
ALTER TABLE `part_events` ADD `key_id` integer;--> statement-breakpoint
ALTER TABLE `part_events` ADD `key_name` text;--> statement-breakpoint
ALTER TABLE `part_events` ADD `key_prefix` text;--> statement-breakpoint
ALTER TABLE `part_events` ADD `key_role` text;--> statement-breakpoint
CREATE INDEX `part_events_kind_idx` ON `part_events` (`kind`,`id`);