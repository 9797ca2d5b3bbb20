CREATE TABLE `model_conversions` (
	`sha256` text PRIMARY KEY NOT NULL,
	`format` text NOT NULL,
	`status` text NOT NULL,
	`error` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`glb_size` integer,
	`started_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `model_conversions_status_idx` ON `model_conversions` (`status`,`updated_at`);--> statement-breakpoint
CREATE TABLE `part_files` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`part_id` integer NOT NULL,
	`slot` text NOT NULL,
	`rev` integer NOT NULL,
	`filename` text NOT NULL,
	`kind` text NOT NULL,
	`content_type` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text NOT NULL,
	`uploaded_by` text NOT NULL,
	`source` text DEFAULT 'upload' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `part_files_rev_idx` ON `part_files` (`part_id`,`slot`,`rev`);--> statement-breakpoint
CREATE INDEX `part_files_sha_idx` ON `part_files` (`sha256`);--> statement-breakpoint
CREATE TABLE `part_views` (
	`part_id` integer NOT NULL,
	`idx` integer NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`part_id`, `idx`)
);
--> statement-breakpoint
CREATE INDEX `part_views_sha_idx` ON `part_views` (`sha256`);