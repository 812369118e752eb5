package image

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// WriteArchive writes img as ref into one tar file that is at once an OCI
// image layout (oci-layout, index.json, blobs/) and a `docker save` archive
// (manifest.json pointing at the same blobs), as Docker 25+ writes them:
// `docker load` (old and new), `kind load image-archive`, `ctr images
// import` and `skopeo copy oci-archive:` all read it.
func WriteArchive(path string, ref name.Tag, img v1.Image) error {
	manifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	mdigest, err := img.Digest()
	if err != nil {
		return err
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	cdigest, err := img.ConfigName()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	index := map[string]any{
		"schemaVersion": 2,
		"mediaType":     types.OCIImageIndex,
		"manifests": []map[string]any{{
			"mediaType": types.OCIManifestSchema1,
			"digest":    mdigest.String(),
			"size":      len(manifest),
			"annotations": map[string]string{
				"io.containerd.image.name":          ref.Name(),
				"org.opencontainers.image.ref.name": ref.TagStr(),
			},
		}},
	}
	docker := []map[string]any{{"Config": blobPath(cdigest), "RepoTags": []string{ref.Name()}}}
	var layerPaths []string

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	defer f.Close() // on the early returns; before the Remove (the checked Close is below)
	tw := tar.NewWriter(f)
	// put writes one file into the archive; after a failure it does
	// nothing, and werr holds the failure.
	var werr error
	put := func(name string, b []byte) {
		if werr == nil {
			werr = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: epoch})
		}
		if werr == nil {
			_, werr = tw.Write(b)
		}
	}
	put("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	put(blobPath(mdigest), manifest)
	put(blobPath(cdigest), config)
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		put(blobPath(d), b)
		layerPaths = append(layerPaths, blobPath(d))
	}
	docker[0]["Layers"] = layerPaths
	for _, doc := range []struct {
		name string
		v    any
	}{{"index.json", index}, {"manifest.json", docker}} {
		b, err := json.Marshal(doc.v)
		if err != nil {
			return err
		}
		put(doc.name, b)
	}
	if werr != nil {
		return werr
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// ReadArchive reads the image named ref back from an archive written by
// WriteArchive (or by `docker save`).
func ReadArchive(path string, ref name.Tag) (v1.Image, error) {
	img, err := tarball.ImageFromPath(path, &ref)
	if err != nil {
		return nil, fmt.Errorf("read %s from %s: %w", ref, path, err)
	}
	return img, nil
}
