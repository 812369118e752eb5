package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// controlPlane is etcd, kube-apiserver and kube-controller-manager on
// loopback, and an admin kubeconfig.
type controlPlane struct {
	kubeconfig string
	server     string
	token      string
	client     *kubernetes.Clientset
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (e *env) startControlPlane(ctx context.Context) (*controlPlane, error) {
	etcd, err := e.tool("etcd")
	if err != nil {
		return nil, err
	}
	apiserver, err := e.tool("kube-apiserver")
	if err != nil {
		return nil, err
	}
	kcm, err := e.tool("kube-controller-manager")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(e.dir, "control-plane")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	client, peer, secure := ports[0], ports[1], ports[2]
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	if _, err := e.start("etcd", nil, etcd, "--name=e2e", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=e2e="+peerURL, "--log-level=warn"); err != nil {
		return nil, err
	}

	// Service-account signing keys and an admin token.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	keyPath, pubPath := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return nil, err
	}
	tok := make([]byte, 16)
	rand.Read(tok)
	cp := &controlPlane{token: hex.EncodeToString(tok), server: fmt.Sprintf("https://127.0.0.1:%d", secure)}
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(cp.token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return nil, err
	}
	if _, err := e.start("kube-apiserver", nil, apiserver,
		"--etcd-servers="+etcdURL,
		fmt.Sprintf("--secure-port=%d", secure),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		// A loopback advertise address needs the endpoint reconciler off.
		"--endpoint-reconciler-type=none",
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--service-account-key-file="+pubPath,
		"--service-account-signing-key-file="+keyPath,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--token-auth-file="+tokens,
		"--authorization-mode=RBAC",
		"--v=1"); err != nil {
		return nil, err
	}
	if err := cp.waitReady(ctx); err != nil {
		return nil, err
	}

	cp.kubeconfig = filepath.Join(dir, "kubeconfig")
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: %s
contexts:
- name: e2e
  context: {cluster: e2e, user: admin}
current-context: e2e
`, cp.server, cp.token)
	if err := os.WriteFile(cp.kubeconfig, []byte(kubeconfig), 0o600); err != nil {
		return nil, err
	}
	if _, err := e.start("kube-controller-manager", nil, kcm,
		"--kubeconfig="+cp.kubeconfig,
		"--leader-elect=false",
		"--controllers=deployment,replicaset,endpointslice,endpoint,serviceaccount,serviceaccount-token,namespace,garbagecollector,disruption",
		"--service-account-private-key-file="+keyPath,
		"--secure-port=0",
		"--concurrent-deployment-syncs=2",
		"--v=1"); err != nil {
		return nil, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	if cp.client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	return cp, nil
}

func (cp *controlPlane) waitReady(ctx context.Context) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cp.server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+cp.token)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver not ready after 60s (%v)", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}
