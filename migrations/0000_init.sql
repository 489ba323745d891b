CREATE TABLE "audit_log" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"partner_id" text,
	"action" text NOT NULL,
	"subject" text,
	"detail" jsonb NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cells" (
	"period" char(7) NOT NULL,
	"country" char(3) NOT NULL,
	"subnational_area" text NOT NULL,
	"country_of_origin" text NOT NULL,
	"migration_status" text NOT NULL,
	"migration_stage" text NOT NULL,
	"sex" text NOT NULL,
	"age_band" text NOT NULL,
	"encounter" text NOT NULL,
	"condition_group" text NOT NULL,
	"screening_context" text NOT NULL,
	"screening_consequence" text NOT NULL,
	"insurance" text NOT NULL,
	"outcome" text NOT NULL,
	"count" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cells_pkey" PRIMARY KEY("country","period","subnational_area","country_of_origin","migration_status","migration_stage","sex","age_band","encounter","condition_group","screening_context","screening_consequence","insurance","outcome")
);
--> statement-breakpoint
CREATE TABLE "grants" (
	"partner_id" text NOT NULL,
	"region" text NOT NULL,
	"k" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "grants_partner_id_region_pk" PRIMARY KEY("partner_id","region")
);
--> statement-breakpoint
CREATE TABLE "hub_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"use" text NOT NULL,
	"alg" text NOT NULL,
	"public_jwk" jsonb NOT NULL,
	"private_jwk_sealed" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"partner_id" text NOT NULL,
	"key" text NOT NULL,
	"request_sha256" text NOT NULL,
	"state" text NOT NULL,
	"status_code" integer,
	"response" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_partner_id_key_pk" PRIMARY KEY("partner_id","key")
);
--> statement-breakpoint
CREATE TABLE "partners" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"roles" text[] NOT NULL,
	"country" char(3),
	"status" text DEFAULT 'active' NOT NULL,
	"jwks" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "records" (
	"submission_id" uuid NOT NULL,
	"partner_id" text NOT NULL,
	"record_id" uuid NOT NULL,
	"live" boolean DEFAULT true NOT NULL,
	"period" char(7) NOT NULL,
	"country" char(3) NOT NULL,
	"subnational_area" text NOT NULL,
	"country_of_origin" text NOT NULL,
	"migration_status" text NOT NULL,
	"migration_stage" text NOT NULL,
	"sex" text NOT NULL,
	"age_band" text NOT NULL,
	"encounter" text NOT NULL,
	"condition" text NOT NULL,
	"condition_group" text NOT NULL,
	"screening_context" text NOT NULL,
	"screening_consequence" text NOT NULL,
	"insurance" text NOT NULL,
	"outcome" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "regions" (
	"code" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"members" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "submissions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"partner_id" text NOT NULL,
	"country" char(3) NOT NULL,
	"schema_name" text NOT NULL,
	"schema_version" text NOT NULL,
	"record_count" integer NOT NULL,
	"body_sha256" text NOT NULL,
	"counted" boolean DEFAULT true NOT NULL,
	"applied" boolean DEFAULT false NOT NULL,
	"generation" integer DEFAULT 1 NOT NULL,
	"receipt" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"aggregated_at" timestamp with time zone,
	"retracted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "used_assertions" (
	"partner_id" text NOT NULL,
	"jti" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "used_assertions_partner_id_jti_pk" PRIMARY KEY("partner_id","jti")
);
--> statement-breakpoint
ALTER TABLE "grants" ADD CONSTRAINT "grants_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "records" ADD CONSTRAINT "records_submission_id_submissions_id_fk" FOREIGN KEY ("submission_id") REFERENCES "public"."submissions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_partner_idx" ON "audit_log" USING btree ("partner_id","seq");--> statement-breakpoint
CREATE INDEX "audit_log_action_idx" ON "audit_log" USING btree ("action","seq");--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_idx" ON "idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "records_submission_idx" ON "records" USING btree ("submission_id");--> statement-breakpoint
CREATE UNIQUE INDEX "records_live_record_id_idx" ON "records" USING btree ("partner_id","record_id") WHERE "records"."live";--> statement-breakpoint
CREATE INDEX "submissions_partner_created_idx" ON "submissions" USING btree ("partner_id","created_at","id");--> statement-breakpoint
CREATE INDEX "submissions_outbox_idx" ON "submissions" USING btree ("changed_at") WHERE "submissions"."counted" <> "submissions"."applied";--> statement-breakpoint
CREATE INDEX "used_assertions_expires_idx" ON "used_assertions" USING btree ("expires_at");