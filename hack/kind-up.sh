#!/usr/bin/env bash
# Brings walker up on a local kind cluster, as hack/kube-e2e does on the node
# it starts itself: build the image, load it, `helm upgrade --install` with the
# bundled Prometheus, wait, print the port-forward commands.
# Needs: docker, kind, kubectl, helm. Cannot run on machines without Docker.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${CLUSTER:-walker}
RELEASE=${RELEASE:-walker}
NAMESPACE=${NAMESPACE:-walker}
TAG=${TAG:-dev}

for tool in docker kind kubectl helm; do
	command -v "$tool" >/dev/null || { echo "kind-up: $tool is required" >&2; exit 1; }
done

# The chart's full name: the release name when it contains "walker".
FULLNAME=$RELEASE
[[ $RELEASE == *walker* ]] || FULLNAME=$RELEASE-walker

kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER"
make image IMAGE="walker:$TAG"
kind load docker-image "walker:$TAG" --name "$CLUSTER"

helm repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update >/dev/null
helm upgrade --install "$RELEASE" charts/walker \
	--namespace "$NAMESPACE" --create-namespace \
	--dependency-update \
	--set image.repository=walker --set image.tag="$TAG" --set image.pullPolicy=Never \
	--set "prometheus.server.extraSecretMounts[0].name=walker-metrics,prometheus.server.extraSecretMounts[0].mountPath=/etc/walker-metrics,prometheus.server.extraSecretMounts[0].readOnly=true,prometheus.server.extraSecretMounts[0].secretName=$FULLNAME-metrics" \
	--wait --timeout 5m

kubectl --namespace "$NAMESPACE" rollout status deployment --timeout 2m
helm test "$RELEASE" --namespace "$NAMESPACE"

cat <<MSG

walker is up. In two terminals:
  kubectl --namespace $NAMESPACE port-forward service/$FULLNAME 8080:80
      then open http://localhost:8080/walks/start/
  kubectl --namespace $NAMESPACE port-forward service/$RELEASE-prometheus-server 9090:80
      then open http://localhost:9090/targets
MSG
