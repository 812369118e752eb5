// Package image builds OCI container images without a Docker daemon, with
// go-containerregistry: one layer from a list of files, a config (entrypoint,
// user, environment), written as an archive that `docker load`, `kind load
// image-archive` and `ctr images import` all read, or pushed to a registry.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"runtime"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of the image's filesystem: a regular file (Data, or the
// host file Src), a directory (Mode has fs.ModeDir) or a symlink (Link).
type File struct {
	Path     string // absolute, in the image
	Mode     fs.FileMode
	Data     []byte
	Src      string
	Link     string
	UID, GID int
}

// Dir is a directory entry.
func Dir(p string, perm fs.FileMode, uid, gid int) File {
	return File{Path: p, Mode: fs.ModeDir | perm, UID: uid, GID: gid}
}

// Config is what the image runs and as whom.
type Config struct {
	Entrypoint   []string
	Cmd          []string
	User         string
	Env          []string
	WorkingDir   string
	ExposedPorts []string // "8080/tcp"
	StopSignal   string
	Labels       map[string]string
}

// epoch keeps the layer reproducible: the same files give the same digest.
var epoch = time.Unix(0, 0)

// Build makes a single-layer image from files.
func Build(cfg Config, files []File) (v1.Image, error) {
	layerTar, err := tarFiles(files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{
		Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, User: cfg.User, Env: cfg.Env,
		WorkingDir: cfg.WorkingDir, StopSignal: cfg.StopSignal, Labels: cfg.Labels,
	}
	if len(cfg.ExposedPorts) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range cfg.ExposedPorts {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	return mutate.ConfigFile(img, cf)
}

// tarFiles writes the entries in path order, with every parent directory
// (root-owned, 0755) that the list does not name itself.
func tarFiles(files []File) ([]byte, error) {
	byPath := map[string]File{}
	for _, f := range files {
		if !path.IsAbs(f.Path) {
			return nil, fmt.Errorf("image file %q: path must be absolute", f.Path)
		}
		byPath[path.Clean(f.Path)] = f
	}
	for p := range byPath {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := byPath[d]; !ok {
				byPath[d] = Dir(d, 0o755, 0, 0)
			}
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range slices.Sorted(maps.Keys(byPath)) {
		if err := writeEntry(tw, p, byPath[p]); err != nil {
			return nil, fmt.Errorf("image file %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeEntry(tw *tar.Writer, p string, f File) error {
	h := &tar.Header{Name: p[1:], Uid: f.UID, Gid: f.GID, ModTime: epoch, Mode: int64(f.Mode.Perm())}
	if f.Mode&fs.ModeSticky != 0 {
		h.Mode |= 0o1000
	}
	switch {
	case f.Mode.IsDir():
		h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		return tw.WriteHeader(h)
	case f.Link != "":
		h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.Link, 0o777
		return tw.WriteHeader(h)
	}
	data := f.Data
	if f.Src != "" {
		b, err := os.ReadFile(f.Src) // follows symlinks: the image gets the content
		if err != nil {
			return err
		}
		data = b
		if h.Mode == 0 {
			fi, err := os.Stat(f.Src)
			if err != nil {
				return err
			}
			h.Mode = int64(fi.Mode().Perm())
		}
	}
	h.Typeflag, h.Size = tar.TypeReg, int64(len(data))
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}
