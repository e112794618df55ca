package generator

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// BaseName is the merge base of a project: every file that gendaemon last
// rendered for it but the manifest, as a gzip-compressed tar archive. regen
// needs it to merge a hand edit of a generated file with what a newer
// gendaemon (or new options) changed in that file, the way copier and
// kubebuilder re-render the old version: the old version's templates are
// not in the new binary, so the project keeps their output. Commit it.
const BaseName = stateDir + "/base.tar.gz"

// maxBaseBytes bounds what a base archive may unpack to: it is a file
// like any other, and a crafted one must not exhaust memory.
const maxBaseBytes = 32 << 20

// WithBase returns files with the project's merge base added: what
// gendaemon new writes, so that a later regen can merge. (Render leaves it
// out: it is derived from the files, not chosen by the options.)
func WithBase(files []File) ([]File, error) {
	data, err := encodeBase(files)
	if err != nil {
		return nil, err
	}
	return append(slices.Clone(files), File{Path: BaseName, Data: data, Mode: FileMode, Owner: Generated}), nil
}

// encodeBase archives every file but the manifest and the base itself,
// sorted by path, with nothing in the archive that varies from run to run,
// so that the same files give the same bytes.
func encodeBase(files []File) ([]byte, error) {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if f.Path == ManifestName || f.Path == BaseName {
			continue
		}
		hdr := &tar.Header{Name: f.Path, Mode: int64(f.Mode.Perm()), Size: int64(len(f.Data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("merge base: %w", err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("merge base: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("merge base: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("merge base: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeBase unpacks a merge base: the bytes of each file by path.
func decodeBase(data []byte) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("merge base: %w", err)
	}
	tr := tar.NewReader(io.LimitReader(zr, maxBaseBytes))
	out := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("merge base: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg || path.Clean(hdr.Name) != hdr.Name || strings.HasPrefix(hdr.Name, "../") {
			return nil, fmt.Errorf("merge base: entry %q is not a file of a project", hdr.Name)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("merge base: %w", err)
		}
		out[hdr.Name] = b
	}
}
