/* SPDX-License-Identifier: Apache-2.0 */
/* periskop.yaml: the original Periskop config format, plus new keys (periskop.yaml(5)). */
#ifndef PERISKOP_CONF_H
#define PERISKOP_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "labels.h"
#include "secret.h"	/* struct http_auth */
#include "yamltree.h"	/* struct conf_pos */


struct conf_static {
	char		**targets;	/* "host:port" */
	size_t		  ntargets;
	struct labelset	  labels;
	struct conf_pos	  pos;
};

struct conf_file_sd {
	char		**files;	/* relative ones joined to the config's folder */
	size_t		  nfiles;
	int64_t		  refresh_ms;	/* default 5m */
	struct conf_pos	  pos;
};

enum dns_type { DNS_SRV = 0, DNS_A, DNS_AAAA, DNS_MX };

struct conf_dns_sd {
	char		**names;
	size_t		  nnames;
	enum dns_type	  type;		/* default SRV */
	int		  port;		/* required unless SRV; 0 when absent */
	int64_t		  refresh_ms;	/* default 30s */
	struct conf_pos	  pos;
};

struct conf_http_sd {
	char			*url;
	int64_t			 refresh_ms;	/* default 60s */
	struct http_auth	 auth;
	struct conf_pos		 pos;
};

struct conf_consul_sd {
	char			*server;	/* "localhost:8500" */
	char			*path_prefix;	/* default "" */
	char			*token;		/* or NULL */
	char			*datacenter;	/* NULL: the agent's */
	char			*namespace;	/* NULL when absent */
	char			*partition;	/* NULL when absent */
	char			*tag_separator;	/* default "," */
	char			*scheme;	/* default "http" */
	int			 allow_stale;	/* default 1 */
	char			**services;	/* none: every service */
	size_t			  nservices;
	char			**tags;		/* needs them all */
	size_t			  ntags;
	struct labelset		  node_meta;
	int64_t			  refresh_ms;	/* default 30s */
	struct http_auth	  auth;
	struct conf_pos		  pos;
};

enum k8s_role { K8S_ENDPOINTS = 0, K8S_POD, K8S_SERVICE };

struct conf_k8s_sd {
	char			*api_server;	/* required: no in-cluster config */
	enum k8s_role		 role;
	char			**namespaces;	/* none: all namespaces */
	size_t			  nnamespaces;
	int64_t			  refresh_ms;	/* ours: lists are polled; 30s */
	struct http_auth	  auth;
	struct conf_pos		  pos;
};

enum relabel_action {
	RELABEL_REPLACE = 0,
	RELABEL_KEEP,
	RELABEL_DROP,
	RELABEL_HASHMOD,
	RELABEL_LABELMAP,
	RELABEL_LABELDROP,
	RELABEL_LABELKEEP,
	RELABEL_LOWERCASE,
	RELABEL_UPPERCASE,
	RELABEL_KEEPEQUAL,
	RELABEL_DROPEQUAL
};

/* One relabel_configs entry with Prometheus' defaults filled in. */
struct conf_relabel {
	char			**source_labels;
	size_t			  nsource_labels;
	char			 *separator;	/* default ";" */
	char			 *regex;	/* default "(.*)", unanchored as written */
	uint64_t		  modulus;
	char			 *target_label;	/* NULL when absent or empty */
	char			 *replacement;	/* default "$1" */
	enum relabel_action	  action;	/* default replace */
	struct conf_pos		  pos;
};

/* Prometheus' tls_config; file names resolved against the config's folder. */
struct conf_tls {
	char	*ca_file;		/* NULL when absent */
	char	*cert_file;		/* with key_file, or neither */
	char	*key_file;
	char	*server_name;
	int	 insecure_skip_verify;
};

struct conf_scraper {
	char			*endpoint;	/* default "/errors" */
	char			*scheme;	/* default "http" */
	int64_t			 interval_ms;	/* refresh_interval; default 30s */
	int64_t			 timeout_ms;	/* default 10s, at most interval */
	struct http_auth	 auth;		/* basic_auth, authorization, ... */
	struct conf_tls		 tls;		/* tls_config */
};

struct conf_service {
	char			*name;
	struct conf_pos		 pos;		/* of its mapping's first key */
	struct conf_static	*static_configs;
	size_t			 nstatic_configs;
	struct conf_file_sd	*file_sd_configs;
	size_t			 nfile_sd_configs;
	struct conf_dns_sd	*dns_sd_configs;
	size_t			 ndns_sd_configs;
	struct conf_http_sd	*http_sd_configs;
	size_t			 nhttp_sd_configs;
	struct conf_consul_sd	*consul_sd_configs;
	size_t			 nconsul_sd_configs;
	struct conf_k8s_sd	*kubernetes_sd_configs;
	size_t			 nkubernetes_sd_configs;
	struct conf_relabel	*relabel_configs;
	size_t			 nrelabel_configs;
	struct conf_scraper	 scraper;
};

struct conf_repository {
	/*
	 * sqlite, postgres, postgresql, mysql or memory; "sqlite" when only
	 * a path is given; NULL when the block is absent or names nothing.
	 */
	char	*type;
	char	*path;		/* sqlite; default "periskop.db"; as written */
	char	*dsn;		/* postgres, postgresql, mysql */
};

struct conf_server {
	char	*listen;	/* default "127.0.0.1:8080" */
};

/*
 * The pushgateway block: where periskop-pushgateway listens and keeps its
 * state, its limits (0: the program's default), and the service it is
 * scraped as.  conf_parse adds the gateway to that service (made when
 * the config has none of that name) as a static target whose
 * __metrics_path__ is /-/errors/, so discovery needs nothing more.
 */
struct conf_pushgateway {
	int		 enabled;	/* the block is present */
	char		*listen;	/* default "127.0.0.1:7878" */
	char		*service;	/* default "pushgateway" */
	char		*state;		/* default "pushgateway.state"; joined */
	char		*token_file;	/* joined; NULL when absent */
	uint64_t	 max_body;	/* bytes */
	uint64_t	 max_pushers;
	uint64_t	 max_keys;	/* per pusher */
	uint64_t	 max_latest;	/* occurrences per key */
	int64_t		 ttl_ms;
	struct conf_pos	 pos;
};

/*
 * The notify block: where periskop-notify delivers the event lines of
 * periskop-aggregate (periskop-notify(1)).  A receiver has exactly one of
 * alertmanager, webhook and command; its lists, when not empty, select the
 * events it gets.
 */
enum notify_type { NOTIFY_ALERTMANAGER = 1, NOTIFY_WEBHOOK, NOTIFY_COMMAND };

struct conf_receiver {
	char		 *name;		/* also its offset file's name */
	enum notify_type  type;
	char		 *url;		/* alertmanager, webhook */
	char		 *command;	/* run by /bin/sh -c */
	char		**headers;	/* "Name: value", webhook */
	size_t		  nheaders;
	char		 *token_file;	/* joined; Authorization: Bearer */
	char		**kinds;
	size_t		  nkinds;
	char		**services;
	size_t		  nservices;
	char		**severities;
	size_t		  nseverities;
	int64_t		  timeout_ms;	/* default 10s */
	struct conf_pos	  pos;
};

struct conf_notify {
	int			 enabled;	/* the block is present */
	char			*spool;		/* default "notify"; joined */
	uint64_t		 max_spool;	/* bytes; default 64 MiB */
	int64_t			 interval_ms;	/* per error; default 1h */
	uint64_t		 digest;	/* more at once: one message */
	int64_t			 group_wait_ms;	/* default 1s */
	int64_t			 max_backoff_ms; /* default 1m */
	int64_t			 alert_ttl_ms;	/* endsAt; default 1h */
	uint64_t		 spike_count;	/* 0: aggregate's own rule */
	int64_t			 spike_window_ms; /* default 5m */
	char			*ui_url;	/* default from server.listen */
	struct conf_receiver	*receivers;
	size_t			 nreceivers;
	struct conf_pos		 pos;
};

struct conf {
	char			*path;		/* the file it was read from */
	char			*dir;		/* its folder, for relative paths */
	struct conf_service	*services;
	size_t			 nservices;
	struct conf_repository	 repository;
	struct conf_server	 server;
	struct conf_pushgateway	 pushgateway;
	struct conf_notify	 notify;
};

/*
 * Reads and validates the whole file.  Returns a new conf (conf_free), or
 * NULL with "FILE:LINE:COL: message" in err: unknown keys, wrong types,
 * bad durations, duplicate service names, invalid values.  An unreadable
 * file gives "FILE: strerror" and sets errno; an invalid one leaves errno
 * 0, so callers can tell 66 from 78.  YAML aliases are rejected.
 */
struct conf	*conf_load(const char *path, char *err, size_t errlen);
/*
 * What -n does once a program has checked its configuration: prints
 * "configuration OK" and returns 0, or 74 when stdout cannot take it.
 */
int		 conf_check_ok(void);
/* The same on a buffer; name is used in messages and for conf->path. */
struct conf	*conf_parse(const char *buf, size_t len, const char *name,
		    char *err, size_t errlen);
void		 conf_free(struct conf *);

/*
 * The database URI the repository block names ("sqlite:PATH",
 * "postgres://..." or a libpq string as the dsn has it, "mysql:DSN", or
 * "memory:" for a private temporary database), relative paths resolved
 * against the config's folder; NULL when the block is absent.  The caller
 * frees it.
 */
char		*conf_db_uri(const struct conf *);

#endif
