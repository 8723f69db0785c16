/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: static and file SD targets through relabel_target. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "labels.h"
#include "record.h"
#include "relabel.h"
#include "sd.h"
#include "xalloc.h"

/*
 * Unlike periskop-discover, every target is printed in config order,
 * duplicates included, as promtool check service-discovery lists them;
 * a target relabel_target refuses is reported on stderr and left out.
 */
static char *
slurp(const char *path, size_t *len)
{
	struct buf b;
	char chunk[4096];
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	return buf_detach(&b, len);
}

/* Appends the targets of the service's file SD files to *groups. */
static void
read_files(const struct conf_service *svc, struct sd_groups *groups)
{
	glob_t g;
	char err[512], *text;
	size_t i, j, k, len;

	for (i = 0; i < svc->nfile_sd_configs; i++)
		for (j = 0; j < svc->file_sd_configs[i].nfiles; j++) {
			if (glob(svc->file_sd_configs[i].files[j], 0, NULL,
			    &g) != 0)
				continue;
			for (k = 0; k < g.gl_pathc; k++) {
				if ((text = slurp(g.gl_pathv[k], &len)) ==
				    NULL)
					continue;
				if (sd_parse_file(text, len, g.gl_pathv[k],
				    groups, err, sizeof(err)) == -1)
					fprintf(stderr, "relabel-dump: %s: "
					    "%s\n", g.gl_pathv[k], err);
				free(text);
			}
			globfree(&g);
		}
}

/*
 * Unlike periskop-discover, every target is printed, duplicates
 * included, as promtool check service-discovery lists them; a target
 * relabel_target refuses is reported on stderr and left out.
 */
static void
dump(const struct conf *cf, const struct conf_service *svc,
    const struct relabel_rules *rs)
{
	const struct conf_static *sc;
	struct sd_groups groups;
	struct sd_group *grp;
	struct labelset *all, *ls;
	struct targets_rec rec;
	struct target t;
	struct buf b;
	char err[512];
	size_t i, j, n, cap = 0;

	sd_groups_init(&groups);
	for (i = 0; i < svc->nstatic_configs; i++) {
		sc = &svc->static_configs[i];
		grp = sd_groups_add(&groups);
		labels_copy(&grp->labels, &sc->labels);
		for (j = 0; j < sc->ntargets; j++) {
			ls = sd_group_add_target(grp);
			labels_set(ls, "__address__", sc->targets[j]);
		}
	}
	read_files(svc, &groups);
	sd_groups_flatten(&groups, &all, &n);
	memset(&rec, 0, sizeof(rec));
	rec.service = xstrdup(svc->name);
	rec.endpoint = xstrdup(svc->scraper.endpoint);
	rec.interval_ms = svc->scraper.interval_ms;
	rec.timeout_ms = svc->scraper.timeout_ms;
	for (i = 0; i < n; i++) {
		switch (relabel_target(rs, svc, &all[i], &t, err,
		    sizeof(err))) {
		case 1:
			if (rec.ntargets == cap) {
				cap = cap ? cap * 2 : 8;
				rec.targets = xreallocarray(rec.targets, cap,
				    sizeof(*rec.targets));
			}
			rec.targets[rec.ntargets++] = t;
			break;
		case -1:
			fprintf(stderr, "relabel-dump: %s: service '%s': "
			    "target '%s': %s\n", cf->path, svc->name,
			    labels_get(&all[i], "__address__") ?
			    labels_get(&all[i], "__address__") : "", err);
			break;
		default:
			break;
		}
		labels_release(&all[i]);
	}
	free(all);
	sd_groups_release(&groups);
	buf_init(&b);
	record_write_targets(&b, &rec);
	printf("%s\n", b.p);
	buf_release(&b);
	targets_rec_release(&rec);
}

int
main(int argc, char *argv[])
{
	struct relabel_rules *rs;
	const struct conf_service *svc;
	const struct conf_relabel *r;
	struct conf *cf;
	char err[512];
	const char *path = NULL;
	size_t i;
	int ch, n;

	while ((ch = getopt(argc, argv, "c:h")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			printf("usage: relabel-dump -c file\n");
			return 0;
		default:
			fprintf(stderr, "usage: relabel-dump -c file\n");
			return EX_USAGE;
		}
	}
	if (path == NULL || optind != argc) {
		fprintf(stderr, "usage: relabel-dump -c file\n");
		return EX_USAGE;
	}
	if ((cf = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "relabel-dump: %s\n", err);
		return EX_CONFIG;
	}
	for (i = 0; i < cf->nservices; i++) {
		svc = &cf->services[i];
		rs = relabel_compile(svc->relabel_configs,
		    svc->nrelabel_configs, err, sizeof(err));
		if (rs == NULL) {
			/* err starts "relabel_configs[N]": find entry N. */
			n = atoi(err + strlen("relabel_configs["));
			r = &svc->relabel_configs[n];
			fprintf(stderr, "relabel-dump: %s:%d:%d: %s\n",
			    cf->path, r->pos.line, r->pos.col, err);
			conf_free(cf);
			return EX_CONFIG;
		}
		dump(cf, svc, rs);
		relabel_rules_free(rs);
	}
	conf_free(cf);
	if (fflush(stdout) == EOF)
		return EX_IOERR;
	return 0;
}
