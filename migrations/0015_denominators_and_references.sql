CREATE TABLE "denominators" (
	"country" char(3) NOT NULL,
	"year" integer NOT NULL,
	"population" text NOT NULL,
	"revision" integer NOT NULL,
	"value" bigint NOT NULL,
	"source" text NOT NULL,
	"source_url" text,
	"vintage" text NOT NULL,
	"note" text,
	"set_by" text NOT NULL,
	"set_at" timestamp with time zone NOT NULL,
	CONSTRAINT "denominators_country_population_year_revision_pk" PRIMARY KEY("country","population","year","revision")
);
--> statement-breakpoint
CREATE TABLE "reference_values" (
	"indicator" text NOT NULL,
	"country" char(3) NOT NULL,
	"year" integer NOT NULL,
	"revision" integer NOT NULL,
	"value" double precision NOT NULL,
	"source" text NOT NULL,
	"source_url" text,
	"note" text,
	"set_by" text NOT NULL,
	"set_at" timestamp with time zone NOT NULL,
	CONSTRAINT "reference_values_indicator_country_year_revision_pk" PRIMARY KEY("indicator","country","year","revision")
);
