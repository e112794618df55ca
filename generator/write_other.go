//go:build !unix

package generator

// noFollow is not needed where there is no O_NOFOLLOW: os.Root already
// refuses links that leave the root, and O_EXCL refuses existing names.
const noFollow = 0
