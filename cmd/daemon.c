/* Set-up shared by supernode, get and (later) proxy: store, client, token. Runs before the loop,
 * so failures print one line and the command exits (the first error tier). */
#include "cmd/daemon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

int daemon_open_store(struct df *df)
{
	char root[4096], err[512];
	const char *dir = df->cfg->common_data;
	if (!dir[0]) {
		if (store_default_root(root, sizeof root) != DF_OK) {
			log_user_error(df->cmd, "no store directory: set --data DIR (%s)", strerror(errno));
			return DF_ERR;
		}
		dir = root;
	}
	df->store = store_open(dir, err, sizeof err);
	if (!df->store) {
		log_user_error(df->cmd, "%s", err);
		return DF_ERR;
	}
	return DF_OK;
}

struct http_client *daemon_client(struct df *df, struct ev_loop *loop, struct ratelimit *rx)
{
	char err[512];
	struct http_client_cfg c = {.rx_limit = rx};
	struct http_client *cl = http_client_new(loop, &c, err, sizeof err);
	if (!cl)
		log_user_error(df->cmd, "%s", err);
	return cl;
}

int daemon_token(struct df *df, int warn_open)
{
	char err[512];
	if (config_resolve_token(df->cfg, err, sizeof err) != DF_OK) {
		log_user_error(df->cmd, "%s", err);
		return DF_ERR;
	}
	if (warn_open && !df->cfg->security_token[0])
		log_warn("no cluster token configured: open mode, any host can register, fetch and push");
	return DF_OK;
}
