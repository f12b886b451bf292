# frozen_string_literal: true

name 'user_setup'
maintainer 'ops workspace'
license 'MIT OR Apache-2.0'
description 'Users, groups and exact authorized_keys from the key-sync users data bag, ' \
            'with proof of the installed keys as node attributes'
version '0.1.0'
chef_version '>= 16.0'
supports 'debian'
supports 'ubuntu'
