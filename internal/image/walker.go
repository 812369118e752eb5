package image

import (
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Walker is the image the Dockerfile builds, without Docker: the static
// binary at /walker, run as the distroless image's nonroot user (65532),
// with the same entrypoint, command, ports and working directory.
func Walker(binary, version, commit string) (v1.Image, error) {
	files := []File{
		{Path: "/walker", Src: binary, Mode: 0o755},
		{Path: "/etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{Path: "/etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		Dir("/home/nonroot", 0o700, 65532, 65532),
		Dir("/tmp", 0o777|os.ModeSticky, 0, 0),
	}
	// An external database may require TLS: ship the CA bundle, as
	// distroless does.
	const caBundle = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(caBundle); err == nil {
		files = append(files, File{Path: caBundle, Src: caBundle, Mode: 0o644})
	}
	return Build(Config{
		Entrypoint:   []string{"/walker"},
		Cmd:          []string{"serve"},
		User:         "65532:65532",
		Env:          []string{"PATH=/usr/local/bin:/usr/bin:/bin", "SSL_CERT_FILE=" + caBundle},
		WorkingDir:   "/home/nonroot",
		ExposedPorts: []string{"8000/tcp", "9000/tcp"},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "walker",
			"org.opencontainers.image.version":  version,
			"org.opencontainers.image.revision": commit,
		},
	}, files)
}
