/* fixture_kube_agent.h - what the Kubernetes orchestrator's tests share
 * (test_kube_agent.c, test_kube_agent_writefail.c): the configuration of an agent on
 * node "node-1" against the test API server of test_kube_server.h, pods from the API
 * server. Include after <cmocka.h>. */
#ifndef WATTLET_TEST_FIXTURE_KUBE_AGENT_H
#define WATTLET_TEST_FIXTURE_KUBE_AGENT_H

#include <stdio.h>
#include <stdlib.h>

#include "agent/config/config.h"
#include "test_kube_server.h"

/* Fills c: the defaults, Kubernetes on, the test server's kubeconfig, node "node-1", pods
 * from the API server (WATTLET_POD_SOURCE unset so that it does not override that). */
static inline void fixture_kube_agent_config(struct config *c)
{
	config_defaults(c);
	c->kube_enabled = KUBE_ON;
	snprintf(c->kubeconfig, sizeof(c->kubeconfig), "%s/kubeconfig", S.dir);
	snprintf(c->node_name, sizeof(c->node_name), "node-1");
	c->pods_from = KUBE_FROM_APISERVER;
	unsetenv("WATTLET_POD_SOURCE");
}

#endif
