// Command image writes the walker container image as an archive without a
// Docker daemon (`make image-tar`): the binary `make build` made, packed as
// the Dockerfile's final stage packs it. Load the archive with `docker load
// -i`, `kind load image-archive`, or `ctr -n k8s.io images import`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/walkerhq/walker/internal/image"
)

func main() {
	binary := flag.String("binary", "bin/walker", "the static walker binary (make build)")
	ref := flag.String("image", "walker:dev", "the image reference to tag the archive with")
	out := flag.String("out", "dist/walker.tar", "where to write the archive")
	version := flag.String("version", "dev", "image label org.opencontainers.image.version")
	commit := flag.String("commit", "unknown", "image label org.opencontainers.image.revision")
	flag.Parse()
	if err := run(*binary, *ref, *out, *version, *commit); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(binary, ref, out, version, commit string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", ref, err)
	}
	img, err := image.Walker(binary, version, commit)
	if err != nil {
		return err
	}
	if err := image.WriteArchive(out, tag, img); err != nil {
		return err
	}
	d, _ := img.Digest()
	fmt.Printf("%s: %s (%s)\n", out, tag.Name(), d)
	return nil
}
