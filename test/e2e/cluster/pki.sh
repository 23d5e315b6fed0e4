#!/usr/bin/env bash
# Generates, once, the e2e cluster's CA, certificates and kubeconfigs with openssl, under
# build/e2e/pki. EC P-256 keys for TLS; an RSA key pair signs service-account tokens.
# Delete build/e2e/pki (or run hack/cluster-down.sh --purge) to regenerate.
set -euo pipefail
cd "$(dirname "$0")"
. ./env.sh
mkdir -p "$E2E_PKI"
cd "$E2E_PKI"
[ -f .complete ] && exit 0
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

# CA
key ca
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=wattlet-e2e-ca" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out ca.crt

# cert NAME SUBJECT USAGE [SANS]: a leaf signed by the CA, valid a year.
cert() {
	local name=$1 subj=$2 usage=$3 sans=${4:-}
	key "$name"
	openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$usage"
		[ -n "$sans" ] && echo "subjectAltName=$sans"
	} > "$name.ext"
	openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 \
		-days 365 -extfile "$name.ext" -out "$name.crt" 2>/dev/null
	rm -f "$name.csr" "$name.ext"
}

cert apiserver "/CN=kube-apiserver" serverAuth \
	"DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$E2E_NODE_IP,IP:$E2E_SVC_IP"
cert kubelet "/CN=$E2E_NODE" serverAuth "DNS:$E2E_NODE,DNS:localhost,IP:127.0.0.1,IP:$E2E_NODE_IP"
# The apiserver's client identity towards kubelets (logs, exec): a superuser, so the
# kubelet's SubjectAccessReview for it on nodes/proxy is allowed.
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert admin "/O=system:masters/CN=e2e-admin" clientAuth
cert controller-manager "/CN=system:kube-controller-manager" clientAuth
cert scheduler "/CN=system:kube-scheduler" clientAuth
cert kube-proxy "/CN=system:kube-proxy" clientAuth
cert kubelet-client "/O=system:nodes/CN=system:node:$E2E_NODE" clientAuth

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
openssl pkey -in sa.key -pubout -out sa.pub

kubeconfig() { # kubeconfig FILE USER CERT
	local ca crt k
	ca=$(base64 -w0 ca.crt) crt=$(base64 -w0 "$3.crt") k=$(base64 -w0 "$3.key")
	cat > "$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: wattlet-e2e
  cluster:
    server: https://127.0.0.1:$E2E_API_PORT
    certificate-authority-data: $ca
users:
- name: $2
  user:
    client-certificate-data: $crt
    client-key-data: $k
contexts:
- name: wattlet-e2e
  context: {cluster: wattlet-e2e, user: $2, namespace: default}
current-context: wattlet-e2e
KC
}
kubeconfig admin.kubeconfig e2e-admin admin
kubeconfig controller-manager.kubeconfig system:kube-controller-manager controller-manager
kubeconfig scheduler.kubeconfig system:kube-scheduler scheduler
kubeconfig kube-proxy.kubeconfig system:kube-proxy kube-proxy
kubeconfig kubelet.kubeconfig "system:node:$E2E_NODE" kubelet-client
chmod 0644 ca.crt  # kubeconfigs stay 0600 (helm warns otherwise)
touch .complete
echo "pki: generated in $E2E_PKI"
