# mkimages: build, push, load and mirror the images under images/.
# The rules are generated: run `npm run generate` after editing images/,
# then `make help`.

.DEFAULT_GOAL := help

include generated/images.mk
