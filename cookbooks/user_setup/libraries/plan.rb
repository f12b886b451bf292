# frozen_string_literal: true

# The decision logic of user_setup: `users` data bag items + the host's current state ->
# the steps that make the host match (users, groups, membership, authorized_keys), and what
# to record as proof afterwards.
#
# Plain Ruby, no Chef: the recipe reads the host (host_state.rb), calls Planner#plan and
# turns each step into one core resource; test/ checks the decisions with minitest.

module UserSetup
  # User and group names: a lowercase letter or `_`, then lowercase letters, digits, `_`,
  # `-`, `.`; at most 32 characters (the rule key-sync applies to the same names).
  NAME = /\A[a-z_][a-z0-9_.-]{0,31}\z/.freeze

  # The cookbook's settings (node['user_setup'], see attributes/default.rb).
  class Config
    REMOVE_MODES = %w[lock delete].freeze

    attr_reader :data_bag, :groups, :users, :search_query, :remove_mode, :remove_home,
                :default_shell, :locked_shell, :home_base, :uid_min, :uid_max,
                :protected_users, :group_ids

    # Raises ArgumentError on a bad setting: a run with a wrong setting must fail, not guess.
    def initialize(data_bag: 'users', groups: ['sysadmin'], users: [], search_query: nil,
                   remove_mode: 'lock', remove_home: false, default_shell: '/bin/bash',
                   locked_shell: '/usr/sbin/nologin', home_base: '/home', uid_min: 1000,
                   uid_max: 60_000, protected_users: ['root'], group_ids: {})
      @data_bag = string!(data_bag, 'data_bag')
      @groups = names!(groups, 'groups')
      @users = names!(users, 'users')
      @search_query = search_query.nil? ? '*:*' : string!(search_query, 'search_query')
      @remove_mode = remove_mode.to_s
      unless REMOVE_MODES.include?(@remove_mode)
        raise ArgumentError,
              "user_setup: remove_mode must be one of #{REMOVE_MODES.join(', ')}, not #{remove_mode.inspect}"
      end

      @remove_home = remove_home == true
      @default_shell = path!(default_shell, 'default_shell')
      @locked_shell = path!(locked_shell, 'locked_shell')
      @home_base = path!(home_base, 'home_base')
      @uid_min = Integer(uid_min)
      @uid_max = Integer(uid_max)
      raise ArgumentError, 'user_setup: uid_min must be below uid_max' unless @uid_min < @uid_max

      @protected_users = Array(protected_users).map(&:to_s)
      @group_ids = (group_ids || {}).to_h { |g, id| [g.to_s, Integer(id)] }
      freeze
    end

    # From node['user_setup'] (string keys; unknown keys such as `installed` are ignored).
    def self.from_attributes(attrs)
      attrs = (attrs || {}).to_h
      keys = %w[data_bag groups users search_query remove_mode remove_home default_shell
                locked_shell home_base uid_min uid_max protected_users group_ids]
      new(**keys.select { |k| attrs.key?(k) }.to_h { |k| [k.to_sym, attrs[k]] })
    end

    # Whether the bag item of this user is for this node: it lists a managed group, it is
    # named in `users`, or the node manages every user of the bag (`groups` empty).
    def in_scope?(name, groups)
      @groups.empty? || @users.include?(name) || (groups & @groups).any?
    end

    def uid_in_range?(uid)
      uid.between?(@uid_min, @uid_max)
    end

    private

    def string!(value, what)
      raise ArgumentError, "user_setup: #{what} must be a non-empty string" unless value.is_a?(String) && !value.empty?

      value
    end

    def names!(value, what)
      list = Array(value).map(&:to_s)
      bad = list.grep_v(NAME)
      raise ArgumentError, "user_setup: invalid name(s) in #{what}: #{bad.join(', ')}" unless bad.empty?

      list.uniq
    end

    def path!(value, what)
      raise ArgumentError, "user_setup: #{what} must be an absolute path" unless UserSetup.absolute_path?(value)

      value
    end
  end

  # An absolute path fit for /etc/passwd: no whitespace, no `:`, no `..` segment.
  def self.absolute_path?(value)
    value.is_a?(String) && value.start_with?('/') && !value.match?(/[\s:]/) &&
      !value.split('/').include?('..')
  end

  # What the host holds now. The planner only looks things up with `[]`, so each field is a
  # Hash (tests) or a lazy reader of the real host (host_state.rb).
  #
  # users  - name -> UserState or nil
  # groups - name -> GroupState or nil
  # files  - path -> FileState or nil (lstat: a symlink is reported as one, not followed)
  HostState = Struct.new(:users, :groups, :files, keyword_init: true)

  # password: :usable (a hash or an empty field: logins by password possible), :locked (a
  # hash behind `!`: locked, and unlocking gives it back), :none (no password: `!`, `*`,
  # `!!`…), or nil when /etc/shadow cannot be read.
  UserState = Struct.new(:uid, :gid, :home, :shell, :comment, :password, :home_exists,
                         keyword_init: true)
  GroupState = Struct.new(:gid, :members, keyword_init: true)
  # kind: :file, :directory, :symlink or :other. content only for :file.
  FileState = Struct.new(:kind, :content, :mode, :owner, keyword_init: true)

  # The plan: ordered steps (frozen hashes, `kind:` first), warnings, and the proof targets.
  #
  # Step kinds, in the order they are returned:
  #   create_group  name, gid (or nil)
  #   create_user   name, uid, gid, home, shell, comment (nil: not set)
  #   modify_user   name, and the fields that change among shell, comment
  #   unlock_user   name
  #   unlink        path (a symlink where ~/.ssh or authorized_keys belongs: removed, never followed)
  #   ssh_dir       path, owner, group (0700)
  #   key_file      path, owner, group, content, fingerprints (0600)
  #   set_members   name, members (the group's exact member list)
  #   lock_user     name (password lock: only for a password that can log in)
  #   remove_user   name, remove_home
  #
  # proof: user -> { paths: the key files sshd reads, state: 'present' | 'locked' |
  # 'removed' | 'refused' | 'unmanaged' }; Proof.collect reads the files after the run.
  class Plan
    attr_reader :steps, :warnings, :proof

    def initialize(steps, warnings, proof)
      @steps = steps.freeze
      @warnings = warnings.freeze
      @proof = proof.freeze
      freeze
    end

    def empty?
      @steps.empty?
    end

    # The proof states by user, in the form Planner#plan takes as `previous`.
    def states
      @proof.transform_values { |t| t[:state] }
    end

    # One line per step, for logs (key contents are not printed, only fingerprints).
    def describe
      @steps.map do |s|
        details = s.reject { |k, _| %i[kind name path content].include?(k) }
        "#{s[:kind]} #{s[:name] || s[:path]} #{details.map { |k, v| "#{k}=#{v.inspect}" }.join(' ')}".strip
      end
    end
  end

  # Bag items + host state (+ the states recorded by the previous run) -> Plan.
  class Planner
    # Steps are returned phase by phase, so that each resource finds what it needs: groups
    # before the users whose primary group they are, users before their key files and before
    # the memberships naming them, keys emptied before an account is locked or deleted.
    PHASES = %i[groups users keys members revoke].freeze
    # States of the previous run that mean "this cookbook managed the account here".
    MANAGED_BEFORE = %w[present locked removed unmanaged].freeze

    def initialize(config)
      @config = config
    end

    # items    - the bag items (hashes with string keys, as a search returns them)
    # state    - HostState
    # previous - user -> state recorded by the previous run (node['user_setup']['installed'],
    #            see Proof.previous): which users this cookbook managed here before
    def plan(items:, state:, previous: {})
      @state = state
      @previous = previous.to_h { |k, v| [k.to_s, v.to_s] }
      @steps = PHASES.to_h { |p| [p, []] }
      @warnings = []
      @proof = {}
      @membership = {} # user -> managed groups the user must be in (users the bag decides for)
      @pending_groups = {}

      entries = valid_entries(items)
      leaving = []
      entries.each do |name, item|
        case classify(name, item)
        when :ensure then ensure_user(name, item)
        when :remove then revoke(name)
        when :leave then leaving << name
        when :ignore then @membership[name] = []
        end
      end
      plan_leaving(leaving)
      (@previous.keys - entries.keys).sort.each { |name| orphan(name) }
      plan_groups

      Plan.new(PHASES.flat_map { |p| @steps[p] }, @warnings, @proof)
    end

    private

    # Valid items by id, first one kept; anything else is warned about and left out.
    def valid_entries(items)
      entries = {}
      Array(items).each_with_index do |item, i|
        unless item.is_a?(Hash)
          warning("item ##{i + 1} is not a hash: ignored")
          next
        end
        name = item['id']
        if !name.is_a?(String) || !name.match?(NAME)
          warning("item ##{i + 1}: invalid user name #{name.inspect.slice(0, 40)} " \
               '(lowercase letters, digits, _ - .; at most 32): ignored')
          next
        end
        if entries.key?(name)
          warning("#{name}: listed twice by the search: the first item is used")
          next
        end
        if protected?(name)
          warning("#{name}: a system or protected user: never touched")
          next
        end
        entries[name] = item
      end
      entries
    end

    def protected?(name)
      return true if @config.protected_users.include?(name)

      user = @state.users[name]
      !user.nil? && !@config.uid_in_range?(user.uid)
    end

    def classify(name, item)
      action = item['action']
      return :remove if action == 'remove'

      unless item['groups'].nil? || item['groups'].is_a?(Array) || item['groups'].is_a?(String)
        warning("#{name}: groups must be a list of group names: item refused")
        refuse(name)
        return :refused
      end
      in_scope = @config.in_scope?(name, groups_of(item))
      managed_before = MANAGED_BEFORE.include?(@previous[name]) && !@state.users[name].nil?
      return :ignore unless in_scope || managed_before

      unless [nil, 'create'].include?(action)
        warning("#{name}: unknown action #{action.inspect.slice(0, 40)} (only \"remove\" or none): item refused")
        refuse(name)
        return :refused
      end
      in_scope ? :ensure : :leave
    end

    def groups_of(item)
      Array(item['groups']).grep(String)
    end

    # A present user of this node: account, keys, membership.
    def ensure_user(name, item)
      fields = fields_of(name, item)
      return refuse(name) if fields.nil?

      user = @state.users[name]
      if user.nil?
        return unless create_user(name, fields)

        home = fields[:home] || File.join(@config.home_base, name)
        home_exists = true
        group = fields[:gid]
      else
        update_user(name, user, fields)
        home = user.home
        home_exists = user.home_exists
        group = user.gid
      end
      if fields[:keys] && home_exists
        ensure_keys(name, home, group, fields[:keys])
      elsif fields[:keys]
        warning("#{name}: home #{home} does not exist: authorized_keys not written")
      end
      @membership[name] = groups_of(item) & @config.groups
      @proof[name] = { paths: key_paths(home), state: 'present' }
    end

    # Validated fields of a present user's item, or nil (warned) when one is unusable.
    def fields_of(name, item)
      fields = {}
      shell = item['shell']
      return bad(name, 'shell must be an absolute path') unless shell.nil? || UserSetup.absolute_path?(shell)

      fields[:shell] = shell || @config.default_shell
      home = item['home']
      unless home.nil? || (UserSetup.absolute_path?(home) && home != '/')
        return bad(name, 'home must be an absolute path')
      end

      fields[:home] = home
      comment = item['comment']
      unless comment.nil? || (comment.is_a?(String) && !comment.match?(/[:\r\n]/))
        return bad(name, 'comment must be a string without `:` or line breaks')
      end

      fields[:comment] = comment
      %w[uid gid].each do |id|
        value = item[id]
        next if value.nil?

        if value.is_a?(Integer) || (value.is_a?(String) && value.match?(/\A\d+\z/))
          fields[id.to_sym] = value.is_a?(Integer) ? value : Integer(value, 10)
        elsif id == 'gid' && value.is_a?(String) && value.match?(NAME)
          fields[:gid] = value
        else
          return bad(name, "#{id} must be a number#{id == 'gid' ? ' or a group name' : ''}")
        end
      end
      keys = keys_of(name, item)
      return nil if keys == :bad

      fields[:keys] = keys
      fields
    end

    def bad(name, why)
      warning("#{name}: #{why}: item refused, the account is left as it is")
      nil
    end

    # The keys to install: nil when the item has no `ssh_keys` (the file is left alone), else
    # the valid, distinct keys in bag order (possibly none: the file is emptied).
    def keys_of(name, item)
      return nil unless item.key?('ssh_keys') && !item['ssh_keys'].nil?

      raw = item['ssh_keys']
      raw = [raw] if raw.is_a?(String)
      unless raw.is_a?(Array)
        bad(name, 'ssh_keys must be a list of public key lines')
        return :bad
      end
      seen = {}
      keys = []
      raw.each_with_index do |line, i|
        key = begin
          Keys.parse(line)
        rescue Keys::Invalid => e
          warning("#{name}: key ##{i + 1} left out: #{e.message}")
          next
        end
        if key.type.start_with?('ssh-dss')
          warning("#{name}: key ##{i + 1} left out: DSA keys are not accepted")
          next
        end
        if seen.key?(key.identity)
          warning("#{name}: key ##{i + 1} repeats key ##{seen[key.identity]} (#{key.fingerprint}): written once")
          next
        end
        seen[key.identity] = i + 1
        keys << key
      end
      keys
    end

    def create_user(name, fields)
      uid = fields[:uid]
      if uid && !@config.uid_in_range?(uid)
        warning("#{name}: uid #{uid} is outside #{@config.uid_min}..#{@config.uid_max} " \
             '(system users are never managed): item refused')
        refuse(name)
        return false
      end
      gid = fields[:gid]
      if gid.is_a?(Integer) && @state.groups[name].nil? && !@pending_groups.key?(name)
        @pending_groups[name] = true
        step(:groups, kind: :create_group, name: name, gid: gid)
      end
      step(:users, kind: :create_user, name: name, uid: uid, gid: gid,
                   home: fields[:home] || File.join(@config.home_base, name),
                   shell: fields[:shell], comment: fields[:comment])
      true
    end

    def update_user(name, user, fields)
      changes = {}
      changes[:shell] = fields[:shell] if user.shell != fields[:shell]
      changes[:comment] = fields[:comment] if fields[:comment] && user.comment != fields[:comment]
      step(:users, kind: :modify_user, name: name, **changes) unless changes.empty?
      if fields[:uid] && fields[:uid] != user.uid
        warning("#{name}: uid is #{user.uid} here, the item says #{fields[:uid]}: " \
             'not changed (files would keep the old owner)')
      end
      if fields[:home] && fields[:home] != user.home
        warning("#{name}: home is #{user.home} here, the item says #{fields[:home]}: not moved; keys go to #{user.home}")
      end
      if @previous[name] == 'locked' && user.password == :locked
        step(:users, kind: :unlock_user, name: name)
      end
    end

    # The files sshd reads keys from: OpenSSH's default AuthorizedKeysFile is
    # `.ssh/authorized_keys .ssh/authorized_keys2`, so a key left in the second still logs in.
    def key_paths(home)
      [File.join(home, '.ssh', 'authorized_keys'), File.join(home, '.ssh', 'authorized_keys2')]
    end

    # authorized_keys exactly as listed (an empty list empties it); authorized_keys2 emptied
    # if it holds a key.
    def ensure_keys(name, home, group, keys)
      dir = File.join(home, '.ssh')
      path, extra = key_paths(home)
      content = keys.empty? ? '' : "#{keys.map(&:line).join("\n")}\n"
      dir_state = unlink_symlink(name, dir)
      file_state = dir_state.nil? ? nil : unlink_symlink(name, path)
      extra_state = dir_state.nil? ? nil : unlink_symlink(name, extra)
      if extra_state&.kind == :file && !Keys.parse_file(extra_state.content).empty?
        warning("#{name}: #{extra} holds keys (sshd reads it too): emptied")
        step(:keys, kind: :key_file, path: extra, owner: name, group: group, content: '', fingerprints: [])
      end
      return if keys.empty? && file_state.nil?

      if dir_state.nil? || dir_state.kind != :directory || dir_state.mode != 0o700 || dir_state.owner != name
        step(:keys, kind: :ssh_dir, path: dir, owner: name, group: group)
      end
      return unless file_state.nil? || file_state.kind != :file || file_state.content != content ||
                    file_state.mode != 0o600 || file_state.owner != name

      step(:keys, kind: :key_file, path: path, owner: name, group: group, content: content,
                  fingerprints: keys.map(&:fingerprint))
    end

    # The state at path; a symlink there is removed (never written through) and nil returned.
    def unlink_symlink(name, path)
      state = @state.files[path]
      return state unless state&.kind == :symlink

      warning("#{name}: #{path} is a symlink: removed")
      step(:keys, kind: :unlink, path: path)
      nil
    end

    # Access withdrawn: keys emptied, out of every managed group, then locked or deleted.
    def revoke(name)
      user = @state.users[name]
      if user.nil?
        @proof[name] = { paths: [], state: 'removed' }
        return
      end
      empty_keys(name, user)
      @membership[name] = []
      if @config.remove_mode == 'delete'
        step(:revoke, kind: :remove_user, name: name, remove_home: @config.remove_home)
        @proof[name] = { paths: key_paths(user.home), state: 'removed' }
      else
        step(:revoke, kind: :modify_user, name: name, shell: @config.locked_shell) if user.shell != @config.locked_shell
        step(:revoke, kind: :lock_user, name: name) if user.password == :usable
        @proof[name] = { paths: key_paths(user.home), state: 'locked' }
      end
    end

    # Both key files emptied (a file already empty or absent is left alone).
    def empty_keys(name, user)
      dir = File.join(user.home, '.ssh')
      if @state.files[dir]&.kind == :symlink
        unlink_symlink(name, dir) # the key files behind it go with the link
        return
      end

      key_paths(user.home).each do |path|
        file = unlink_symlink(name, path)
        next if file.nil? || (file.kind == :file && file.content.empty?)

        step(:keys, kind: :key_file, path: path, owner: name, group: user.gid, content: '', fingerprints: [])
      end
    end

    # Users this cookbook managed here before whose item now puts them outside this node's
    # groups: revoked, unless that would leave nobody with a key (a wrong `groups` setting
    # must not lock everyone out).
    def plan_leaving(leaving)
      return if leaving.empty?

      if nobody_keeps_a_key?
        warning("not revoking #{leaving.join(', ')} (outside this node's groups #{@config.groups.inspect}): " \
             'no user of those groups would keep a key here; check node[\'user_setup\'][\'groups\']')
        leaving.each { |name| orphan(name) }
        return
      end
      leaving.each { |name| revoke(name) }
    end

    def nobody_keeps_a_key?
      @proof.none? do |name, target|
        next false unless target[:state] == 'present'

        written = @steps[:keys].find { |s| s[:kind] == :key_file && s[:path] == target[:paths].first }
        if written
          !written[:content].empty?
        else
          file = @state.files[target[:paths].first]
          file&.kind == :file && !Keys.parse_file(file.content).empty?
        end
      end
    end

    # A user the previous run managed who is no longer in the bag: left as it is (an absent
    # item is never taken as a revoke), but still reported while the account exists.
    def orphan(name)
      user = @state.users[name]
      return if user.nil? || !@config.uid_in_range?(user.uid) || @config.protected_users.include?(name)

      warning("#{name}: managed here before, no longer in the bag for this node: left as it is " \
           '(mark the item action: remove to revoke)')
      @proof[name] = { paths: key_paths(user.home), state: 'unmanaged' }
    end

    def refuse(name)
      user = @state.users[name]
      @proof[name] = { paths: key_paths(user.home), state: 'refused' } if user
    end

    # Managed groups: created when missing; for the users the bag decides for, membership
    # follows the bag; other members are kept.
    def plan_groups
      deciding = @membership.keys
      @config.groups.each do |group|
        current = @state.groups[group]
        if current.nil? && !@pending_groups.key?(group)
          step(:groups, kind: :create_group, name: group, gid: @config.group_ids[group])
        end
        now = current ? current.members.sort : []
        wanted = ((now - deciding) + deciding.select { |u| @membership[u].include?(group) }).uniq.sort
        step(:members, kind: :set_members, name: group, members: wanted) unless wanted == now
      end
    end

    def step(phase, **fields)
      @steps[phase] << fields.freeze
    end

    def warning(message)
      @warnings << message
    end
  end

  # The proof a run leaves on the node: per user, the SHA-256 fingerprints of the keys really
  # in authorized_keys after the run, and when that was read.
  module Proof
    module_function

    # node['user_setup']['installed'] -> { user => state } (what Planner#plan takes).
    def previous(installed)
      (installed || {}).to_h.each_with_object({}) do |(user, entry), out|
        state = entry.is_a?(Hash) ? entry['state'] : nil
        out[user.to_s] = (state || 'present').to_s
      end
    end

    # Reads each target's key files (reader: path -> content, or nil when absent) and returns
    # the attribute value: { user => { 'fingerprints' => [...], 'at' => at, 'state' => state } },
    # users sorted, fingerprints sorted and distinct over the user's files.
    def collect(targets, at:, reader: method(:read_file))
      targets.keys.sort.to_h do |user|
        target = targets[user]
        content = target[:paths].map { |path| reader.call(path) }.compact.join("\n")
        [user, { 'fingerprints' => Keys.fingerprints_of_file(content), 'at' => Integer(at),
                 'state' => target[:state] }]
      end
    end

    # The content sshd would read (symlinks followed, as sshd does), or nil.
    def read_file(path)
      File.file?(path) ? File.read(path, 1 << 20) : nil
    rescue SystemCallError
      nil
    end
  end
end
