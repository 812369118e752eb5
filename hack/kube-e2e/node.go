package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	pollpkg "github.com/walkerhq/walker/internal/poll"
	"github.com/walkerhq/walker/internal/proc"
	"github.com/walkerhq/walker/internal/testtool"
)

// The node's addresses. The ranges are unusual on purpose: nothing else on
// the machine uses them. The API server and the kubelet listen on the
// bridge's own address, so pods reach them (through the `kubernetes`
// Service) and EndpointSlices get a real, non-loopback address.
const (
	nodeName     = "walker-e2e-node"
	bridgeName   = "walker-e2e0"
	nodeIP       = "10.217.0.1"
	podCIDR      = "10.217.0.0/24"
	serviceCIDR  = "10.218.0.0/24"
	apiClusterIP = "10.218.0.1"
	dnsIP        = "10.218.0.10"
)

// node is a single-node cluster: the control plane, containerd, the
// kubelet, kube-proxy, CoreDNS and a local-path provisioner.
type node struct {
	dir        string
	kubeconfig string
	server     string
	criSocket  string
	config     *rest.Config
	client     *kubernetes.Clientset
	procs      map[string]*proc.Process
}

// startNode brings the node up; every part is stopped at cleanup, in
// reverse order.
func (e *env) startNode(ctx context.Context) (*node, error) {
	n := &node{dir: filepath.Join(e.dir, "node"), procs: map[string]*proc.Process{}}
	if err := os.MkdirAll(n.dir, 0o755); err != nil {
		return nil, err
	}
	if err := e.setupBridge(); err != nil {
		return nil, err
	}
	for _, start := range []func(context.Context, *node) error{
		e.startControlPlane, e.startContainerd, e.startKubelet, e.startKubeProxy, e.startAddons,
	} {
		if err := start(ctx, n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// run starts a node program; cleanup stops it.
func (e *env) run(n *node, name string, args ...string) error {
	bin, err := testtool.Lookup(name)
	if err != nil {
		return err
	}
	p, err := proc.Start(e.dir, name, nil, append([]string{bin}, args...)...)
	if err != nil {
		return err
	}
	e.defer_(func() { p.Stop(10 * time.Second) })
	n.procs[name] = p
	return nil
}

func (e *env) setupBridge() error {
	ip("link", "del", bridgeName) // left over by a killed run
	if err := ip("link", "add", bridgeName, "type", "bridge"); err != nil {
		return err
	}
	e.defer_(func() { ip("link", "del", bridgeName) })
	if err := ip("addr", "add", nodeIP+"/24", "dev", bridgeName); err != nil {
		return err
	}
	return ip("link", "set", bridgeName, "up")
}

func ip(args ...string) error {
	return proc.Run(context.Background(), "", "ip "+strings.Join(args, " "), nil, append([]string{"ip"}, args...)...)
}

func (e *env) startControlPlane(ctx context.Context, n *node) error {
	dir := filepath.Join(n.dir, "control-plane")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	certs, err := writePKI(dir, []net.IP{net.ParseIP(nodeIP), net.ParseIP(apiClusterIP), net.ParseIP("127.0.0.1")},
		[]string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"})
	if err != nil {
		return err
	}
	etcdURL, err := e.startEtcd(n, dir)
	if err != nil {
		return err
	}
	if err := e.startAPIServer(ctx, n, dir, etcdURL, certs); err != nil {
		return err
	}
	if err := e.run(n, "kube-controller-manager", "--kubeconfig="+n.kubeconfig, "--leader-elect=false",
		// The node's pod CIDR is the CNI's; the trust-bundle publisher
		// loops on a self-signed serving certificate.
		"--controllers=*,-node-ipam-controller,-kube-apiserver-serving-clustertrustbundle-publisher-controller",
		"--service-account-private-key-file="+certs.saKey, "--root-ca-file="+certs.caCert,
		"--use-service-account-credentials=true", "--secure-port=0", "--v=1"); err != nil {
		return err
	}
	return e.run(n, "kube-scheduler", "--kubeconfig="+n.kubeconfig, "--leader-elect=false", "--secure-port=0", "--v=1")
}

// startEtcd runs etcd on loopback and returns its client URL.
func (e *env) startEtcd(n *node, dir string) (string, error) {
	ports, err := testtool.Ports("127.0.0.1", 2)
	if err != nil {
		return "", err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	return etcdURL, e.run(n, "etcd", "--name=e2e", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=e2e="+peerURL, "--log-level=warn")
}

// startAPIServer runs kube-apiserver on the bridge's address with an admin
// token, writes its kubeconfig, and waits until it is ready.
func (e *env) startAPIServer(ctx context.Context, n *node, dir, etcdURL string, certs *pki) error {
	token := testtool.RandomHex(16)
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return err
	}
	ports, err := testtool.Ports(nodeIP, 1)
	if err != nil {
		return err
	}
	if err := e.run(n, "kube-apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address="+nodeIP, "--advertise-address="+nodeIP, fmt.Sprintf("--secure-port=%d", ports[0]),
		"--tls-cert-file="+certs.serverCert, "--tls-private-key-file="+certs.serverKey,
		"--service-account-key-file="+certs.saPub, "--service-account-signing-key-file="+certs.saKey,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range="+serviceCIDR,
		"--token-auth-file="+tokens,
		"--authorization-mode=Node,RBAC", "--allow-privileged=true",
		"--kubelet-preferred-address-types=InternalIP",
		"--v=1"); err != nil {
		return err
	}
	n.server = fmt.Sprintf("https://%s:%d", nodeIP, ports[0])
	if err := n.connect(filepath.Join(dir, "kubeconfig"), certs.caPEM, token); err != nil {
		return err
	}
	return poll(ctx, "kube-apiserver /readyz", time.Minute, func() (bool, error) {
		body, err := n.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
}

// connect writes the admin's kubeconfig (kubectl and helm use it) and
// makes the client of the steps.
func (n *node) connect(path string, caPEM []byte, token string) error {
	n.kubeconfig = path
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: e2e
  context: {cluster: e2e, user: admin}
current-context: e2e
`, n.server, base64.StdEncoding.EncodeToString(caPEM), token)
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		return err
	}
	n.config = &rest.Config{Host: n.server, BearerToken: token, QPS: 50, Burst: 100,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}}
	var err error
	n.client, err = kubernetes.NewForConfig(n.config)
	return err
}

// startContainerd runs containerd with its CRI plugin, all state under the
// run's folder, pulling every registry host from the loopback registry.
func (e *env) startContainerd(ctx context.Context, n *node) error {
	dir := filepath.Join(n.dir, "containerd")
	certsDir := filepath.Join(dir, "certs.d")
	if err := e.writeRegistryHosts(certsDir); err != nil {
		return err
	}
	cniDir, err := writeCNIConfig(n)
	if err != nil {
		return err
	}
	n.criSocket = filepath.Join(dir, "containerd.sock")
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[plugins."io.containerd.internal.v1.opt"]
  path = %[4]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  # No AppArmor on these machines.
  disable_apparmor = true
  # root here lacks CAP_SYS_RESOURCE: runc fails on a negative oom_score_adj.
  restrict_oom_score_adj = true
  # Keeps pod network namespaces out of /run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[6]q
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %[7]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), n.criSocket, filepath.Join(dir, "opt"),
		pauseImage, cniDir, certsDir)
	cfgPath := filepath.Join(dir, "config.toml")
	if err := writeFile(cfgPath, config); err != nil {
		return err
	}
	if err := e.run(n, "containerd", "--config", cfgPath); err != nil {
		return err
	}
	// Stopping containerd leaves the shims and containers running: remove
	// every pod sandbox first (this runs before containerd's own stop).
	e.defer_(func() {
		cleanupRun("crictl", "--runtime-endpoint", "unix://"+n.criSocket, "--timeout", "60s", "rmp", "-fa")
	})
	return poll(ctx, "containerd's socket", 30*time.Second, func() (bool, error) {
		_, err := os.Stat(n.criSocket)
		return err == nil, nil
	})
}

// writeRegistryHosts points every registry host at the loopback registry.
func (e *env) writeRegistryHosts(certsDir string) error {
	for _, host := range registryHosts {
		toml := fmt.Sprintf("server = \"http://%s\"\n\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", e.registry, e.registry)
		if err := writeFile(filepath.Join(certsDir, host, "hosts.toml"), toml); err != nil {
			return err
		}
	}
	return nil
}

// writeCNIConfig writes the bridge network's configuration and returns its
// folder. No NAT and no route out: pods reach the node, each other and the
// Service range (through the node, where kube-proxy translates it).
func writeCNIConfig(n *node) (string, error) {
	cniDir := filepath.Join(n.dir, "cni")
	conflist := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "walker-e2e",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q, "gateway": %q}]],
              "routes": [{"dst": %q}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}`, bridgeName, filepath.Join(n.dir, "cni-ipam"), podCIDR, nodeIP, serviceCIDR)
	return cniDir, writeFile(filepath.Join(cniDir, "10-walker-e2e.conflist"), conflist)
}

// writeFile writes one of the node's files, creating its folder.
func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

// cleanupRun runs a node tool at cleanup; a failure is reported, not
// fatal (the machine check that follows names what is left).
func cleanupRun(tool string, args ...string) {
	bin, err := testtool.Lookup(tool)
	if err == nil {
		err = proc.Run(context.Background(), "", tool+" "+strings.Join(args, " "), nil, append([]string{bin}, args...)...)
	}
	if err != nil {
		fmt.Printf("cleanup: %s\n", lastLines(err.Error(), 5))
	}
}

func (e *env) startKubelet(ctx context.Context, n *node) error {
	dir := filepath.Join(n.dir, "kubelet")
	// Pods resolve through CoreDNS only; the host's resolver never leaks in.
	resolv := filepath.Join(dir, "resolv.conf")
	if err := writeFile(resolv, "nameserver 127.0.0.1\n"); err != nil {
		return err
	}
	healthz, err := testtool.Ports("127.0.0.1", 1)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := writeFile(cfgPath, kubeletConfig(n, healthz[0], resolv, filepath.Join(dir, "pod-logs"))); err != nil {
		return err
	}
	if err := e.run(n, "kubelet", "--config="+cfgPath, "--kubeconfig="+n.kubeconfig, "--root-dir="+filepath.Join(dir, "root"),
		"--hostname-override="+nodeName, "--node-ip="+nodeIP, "--v=1"); err != nil {
		return err
	}
	return poll(ctx, "node Ready", 2*time.Minute, func() (bool, error) {
		nd, err := n.client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range nd.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	})
}

// kubeletConfig is the kubelet's configuration file.
func kubeletConfig(n *node, healthz int, resolv, podLogs string) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# These machines run cgroup v1, which 1.35+ refuse unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://%s
failSwapOn: false
address: %s
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
# A test node: the API server reaches it with no client certificate.
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
clusterDNS: [%s]
clusterDomain: cluster.local
resolvConf: %s
podLogsDir: %s
protectKernelDefaults: false
makeIPTablesUtilChains: false
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%%, imagefs.available: 1%%, nodefs.inodesFree: 1%%}
# An image known under two names is pulled again otherwise, and fails.
imagePullCredentialsVerificationPolicy: NeverVerify
`, n.criSocket, nodeIP, healthz, dnsIP, resolv, podLogs)
}

func (e *env) startKubeProxy(ctx context.Context, n *node) error {
	ports, err := testtool.Ports("127.0.0.1", 2)
	if err != nil {
		return err
	}
	config := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
bindAddress: %s
clusterCIDR: %s
hostnameOverride: %s
nodePortAddresses: [%s/32]
clientConnection: {kubeconfig: %s}
healthzBindAddress: 127.0.0.1:%d
metricsBindAddress: 127.0.0.1:%d
# Leave the host's conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`, nodeIP, podCIDR, nodeName, nodeIP, n.kubeconfig, ports[0], ports[1])
	cfgPath := filepath.Join(n.dir, "kube-proxy.yaml")
	if err := writeFile(cfgPath, config); err != nil {
		return err
	}
	if err := e.run(n, "kube-proxy", "--config="+cfgPath, "--v=1"); err != nil {
		return err
	}
	// Its rules outlive it: remove them once it has stopped.
	e.defer_(func() { cleanupRun("kube-proxy", "--cleanup") })
	e.defer_(func() { n.procs["kube-proxy"].Stop(5 * time.Second) })
	return nil
}

func lastLines(s string, k int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > k {
		lines = lines[len(lines)-k:]
	}
	return strings.Join(lines, "\n")
}

// poll waits for cond (internal/poll) at the e2e's pace.
func poll(ctx context.Context, what string, timeout time.Duration, cond func() (bool, error)) error {
	return pollpkg.Wait(ctx, what, timeout, 300*time.Millisecond, cond)
}
