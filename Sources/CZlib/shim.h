// zlib, for reading .tar.gz rootfs tarballs (gzread reads plain files unchanged too).
#include <zlib.h>
