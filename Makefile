# mkimages: build, push, load and mirror the images under images/.
# The rules are generated: run `npm run generate` after editing images/.

.DEFAULT_GOAL := help

include generated/images.mk

.PHONY: help
help: ## Show the targets and what they do
	@echo 'Usage: make <target> [REGISTRY=host[:port][/path]] [PLATFORMS=linux/amd64,...] [LOCAL_PREFIX=...]'
	@echo
	@awk 'BEGIN { FS = ":.*## " } /^[^ \t#.$$][^ \t=$$]*:.*## / { printf "  %-44s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
