package chart

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Sources are the objects a pod's volumes come from.
type Sources struct {
	ConfigMaps map[string]*corev1.ConfigMap
	Secrets    map[string]*corev1.Secret
}

// materialise creates, under root, the volumes a container mounts, as the
// kubelet would: ConfigMap and Secret keys (or the listed items) as files,
// emptyDirs as folders. It returns each mount path's local folder.
func materialise(spec *corev1.PodSpec, container string, src Sources, root string) (map[string]string, error) {
	c := Container(spec, container)
	if c == nil {
		return nil, fmt.Errorf("no container %q", container)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 {
			return nil, fmt.Errorf("container %s mounts unknown volume %s", container, m.Name)
		}
		v := spec.Volumes[i]
		files, err := volumeFiles(v, src)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		dir := filepath.Join(root, m.MountPath)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return nil, err
			}
		}
		mounts[m.MountPath] = dir
	}
	return mounts, nil
}

// volumeFiles is what the kubelet writes into a volume, by file name: its
// ConfigMap's or Secret's keys, or the listed items; nothing for an emptyDir.
func volumeFiles(v corev1.Volume, src Sources) (map[string][]byte, error) {
	data := map[string][]byte{}
	switch {
	case v.ConfigMap != nil:
		cm, ok := src.ConfigMaps[v.ConfigMap.Name]
		if !ok {
			return nil, fmt.Errorf("no ConfigMap %s", v.ConfigMap.Name)
		}
		for k, s := range cm.Data {
			data[k] = []byte(s)
		}
		return pick(v.ConfigMap.Items, data, false)
	case v.Secret != nil:
		optional := v.Secret.Optional != nil && *v.Secret.Optional
		sec, ok := src.Secrets[v.Secret.SecretName]
		if !ok && !optional {
			return nil, fmt.Errorf("no Secret %s", v.Secret.SecretName)
		}
		if sec != nil {
			maps.Copy(data, sec.Data)
			for k, s := range sec.StringData {
				data[k] = []byte(s)
			}
		}
		return pick(v.Secret.Items, data, optional)
	case v.EmptyDir != nil:
		return data, nil
	}
	return nil, fmt.Errorf("unsupported source")
}

// pick is the listed items of data by path (all of data when none are
// listed). As the kubelet does, an optional source's missing keys are left
// out (and the other keys stay unlisted); a required one's are an error.
func pick(items []corev1.KeyToPath, data map[string][]byte, optional bool) (map[string][]byte, error) {
	if len(items) == 0 {
		return data, nil
	}
	out := map[string][]byte{}
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok && !optional {
			return nil, fmt.Errorf("no key %s", it.Key)
		}
		if ok {
			out[it.Path] = b
		}
	}
	return out, nil
}

var listenDirective = regexp.MustCompile(`(?m)^(\s*listen\s+)[^;]+;`)

// LocalNginx prepares the nginx container of spec to run as a local
// process: its volumes under root, the configuration's container paths
// rewritten to those folders, and its listen address set to listen. It
// returns nginx's arguments (the container's command without "nginx").
func LocalNginx(spec *corev1.PodSpec, src Sources, root, listen string) ([]string, error) {
	mounts, err := materialise(spec, "nginx", src, root)
	if err != nil {
		return nil, err
	}
	c := Container(spec, "nginx")
	cmd := append(append([]string{}, c.Command...), c.Args...)
	if len(cmd) == 0 || filepath.Base(cmd[0]) != "nginx" {
		return nil, fmt.Errorf("nginx container command %v does not start nginx", cmd)
	}
	args := cmd[1:]
	at := slices.Index(args, "-c") + 1 // the configuration's index
	if at == 0 || at == len(args) {
		return nil, fmt.Errorf("nginx container command %v names no -c configuration", cmd)
	}
	conf := args[at]
	local := pathRewriter(mounts)
	b, err := os.ReadFile(local(conf))
	if err != nil {
		return nil, fmt.Errorf("nginx configuration %s is not in a mounted volume: %w", conf, err)
	}
	text := local(string(b))
	if !listenDirective.MatchString(text) {
		return nil, fmt.Errorf("no listen directive in %s", conf)
	}
	text = listenDirective.ReplaceAllString(text, "${1}"+listen+";")
	rewritten := local(conf) + ".local"
	if err := os.WriteFile(rewritten, []byte(text), 0o644); err != nil {
		return nil, err
	}
	args[at] = rewritten // args is our copy of the container's command
	return append(args, "-p", root), nil
}

// pathRewriter rewrites, in one pass, each mount path where it starts a
// path in a text (after a space, a quote, = or the line start) to its local
// folder. One pass, because the local folders may themselves start with a
// mount path (/tmp).
func pathRewriter(mounts map[string]string) func(text string) string {
	// Longest mount paths first, so /etc/nginx/htpasswd wins over /etc/nginx.
	paths := slices.SortedFunc(maps.Keys(mounts), func(a, b string) int { return len(b) - len(a) })
	for i, p := range paths {
		paths[i] = regexp.QuoteMeta(p)
	}
	re := regexp.MustCompile(`(?m)(^|[\s"'=])(` + strings.Join(paths, "|") + `)(/|;|\s|"|'|$)`)
	return func(text string) string {
		return re.ReplaceAllStringFunc(text, func(m string) string {
			sub := re.FindStringSubmatch(m)
			return sub[1] + mounts[sub[2]] + sub[3]
		})
	}
}

var envReference = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// LiteralEnv is a container's environment as NAME=value, as the kubelet
// would set it for a pod named pod: literal values with their $(VAR)
// references to earlier variables expanded, and the downward API's
// metadata.name. Variables read from Secrets or ConfigMaps are left out
// (the caller supplies their local equivalents).
func LiteralEnv(c *corev1.Container, pod, namespace string) []string {
	seen := map[string]string{}
	var env []string
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil {
			f := e.ValueFrom.FieldRef
			switch {
			case f != nil && f.FieldPath == "metadata.name":
				v = pod
			case f != nil && f.FieldPath == "metadata.namespace":
				v = namespace
			default:
				continue
			}
		}
		v = envReference.ReplaceAllStringFunc(v, func(ref string) string {
			if val, ok := seen[ref[2:len(ref)-1]]; ok {
				return val
			}
			return ref // the kubelet leaves unknown references as they are
		})
		seen[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	return env
}
