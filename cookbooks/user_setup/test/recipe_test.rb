# frozen_string_literal: true

require_relative 'test_helper'
require 'minitest/mock'

# Stand-in for the parts of Chef the recipe calls outside resources (no Chef here).
module Chef
  module Log
    @lines = []
    class << self
      attr_reader :lines

      def warn(msg)
        @lines << [:warn, msg]
      end

      def info(msg)
        @lines << [:info, msg]
      end
    end
  end
end

# Runs recipes/default.rb against a recorder of the Chef recipe DSL: no Chef Infra Client is
# available here, so this checks the recipe's own code (that it maps every step kind to a
# resource, with properties those resources have) and the proof block, not Chef's behaviour.
class RecipeTest < Minitest::Test
  include Fixtures

  RECIPE = File.expand_path('../recipes/default.rb', __dir__)

  # Properties the core resources have (docs.chef.io/resources/<name>), the ones the recipe
  # may set; anything else is a typo the recorder refuses.
  PROPERTIES = {
    user: %i[username uid gid home shell comment manage_home],
    group: %i[group_name gid members append],
    directory: %i[owner group mode],
    file: %i[content owner group mode],
    link: %i[],
    ruby_block: %i[block]
  }.freeze

  Resource = Struct.new(:type, :name, :props, :actions)

  # The block receiver of one resource (a Chef resource also answers `node`).
  class Properties
    attr_reader :node

    def initialize(resource, node)
      @resource = resource
      @node = node
    end

    def action(value)
      @resource.actions = Array(value)
    end

    def block(&code)
      @resource.props[:block] = code
    end

    def method_missing(name, *args)
      allowed = PROPERTIES.fetch(@resource.type)
      return super unless allowed.include?(name) && args.size == 1

      @resource.props[name] = args.first
    end

    def respond_to_missing?(name, include_private = false)
      PROPERTIES.fetch(@resource.type).include?(name) || super
    end
  end

  # The recipe DSL: search, node, and the resources.
  class Recorder
    attr_reader :resources, :searches, :node

    BagItem = Struct.new(:raw_data)

    def initialize(items, attrs)
      @items = items
      @node = Node.new(attrs)
      @resources = []
      @searches = []
    end

    def search(bag, query)
      @searches << [bag, query]
      @items.map { |i| BagItem.new(i) }
    end

    PROPERTIES.each_key do |type|
      define_method(type) do |name, &body|
        resource = Resource.new(type, name, {}, nil)
        Properties.new(resource, @node).instance_eval(&body) if body
        @resources << resource
        resource
      end
    end

    def run
      instance_eval(File.read(RECIPE), RECIPE)
      self
    end
  end

  # node[...] reads the merged attributes; node.normal is what the run saves.
  class Node
    attr_reader :normal

    def initialize(attrs)
      @attrs = attrs
      @normal = Hash.new { |h, k| h[k] = {} }
    end

    def [](key)
      @attrs[key]
    end
  end

  def attrs(**settings)
    defaults = { 'data_bag' => 'users', 'search_query' => nil, 'groups' => %w[sysadmin deploy],
                 'remove_mode' => 'lock',
                 'installed' => { 'alice' => { 'state' => 'present' }, 'erin' => { 'state' => 'locked' } } }
    { 'user_setup' => defaults.merge(settings.transform_keys(&:to_s)) }
  end

  def record(items, state, **settings)
    UserSetup::Live.stub(:state, state) { Recorder.new(items, attrs(**settings)).run }
  end

  def scenario
    state = host(users: { 'bob' => user(1002, home: '/home/bob', password: :usable),
                          'erin' => user(1005, home: '/home/erin', password: :locked, shell: '/usr/sbin/nologin') },
                 files: { '/home/bob' => dir('bob', 0o755), '/home/bob/.ssh' => dir('bob'),
                          '/home/bob/.ssh/authorized_keys' => file('bob', "#{key(2)}\n"),
                          ALICE_LINK => symlink })
    items = [item('alice', groups: ['sysadmin'], ssh_keys: [key(1)], shell: '/bin/zsh'),
             item('bob', groups: ['sysadmin'], ssh_keys: [key(2)], action: 'remove'),
             item('dave', groups: ['deploy'], ssh_keys: [key(4)], uid: 3000, gid: 3000, comment: 'Dave'),
             item('erin', groups: ['deploy'])]
    [items, state]
  end
  ALICE_LINK = '/home/alice/.ssh/authorized_keys'

  def test_every_step_becomes_one_resource_with_known_properties
    items, state = scenario
    kinds = []
    %w[lock delete].each do |mode|
      expected = UserSetup::Planner.new(UserSetup::Config.from_attributes(attrs(remove_mode: mode)['user_setup']))
                                   .plan(items: items, state: state, previous: { 'alice' => 'present', 'erin' => 'locked' })
      kinds |= expected.steps.map { |s| s[:kind] }
      rec = record(items, state, remove_mode: mode)
      assert_equal [['users', '*:*']], rec.searches
      resources = rec.resources[0...-1]
      assert_equal expected.steps.size, resources.size, expected.describe.inspect
      expected.steps.zip(resources).each { |step, resource| assert_maps(step, resource) }
      assert_equal :ruby_block, rec.resources.last.type
    end
    assert_equal %i[create_group create_user modify_user unlock_user unlink ssh_dir key_file set_members
                    lock_user remove_user].sort, kinds.sort, 'the scenario covers every step kind'
  end

  def test_proof_block_records_installed_fingerprints_and_time
    items, state = scenario
    rec = record(items, state)
    files = { '/home/alice/.ssh/authorized_keys' => "#{key(1)}\n", '/home/bob/.ssh/authorized_keys' => '' }
    UserSetup::Proof.stub(:read_file, ->(path) { files[path] }) do
      rec.resources.last.props[:block].call
    end
    installed = rec.node.normal['user_setup']['installed']
    at = rec.node.normal['user_setup']['checked_at']
    assert_kind_of Integer, at
    assert_in_delta Time.now.to_i, at, 5
    assert_equal({ 'fingerprints' => [fingerprint(key(1))], 'at' => at, 'state' => 'present' }, installed['alice'])
    assert_equal({ 'fingerprints' => [], 'at' => at, 'state' => 'locked' }, installed['bob'])
    assert_equal %w[alice bob dave erin], installed.keys
  end

  def test_custom_search_and_bad_settings
    rec = record([], host, data_bag: 'people', search_query: 'groups:ops')
    assert_equal [['people', 'groups:ops']], rec.searches
    assert_raises(ArgumentError) { record([], host, remove_mode: 'purge') }
  end

  private

  # What the recipe must declare for each step kind.
  def assert_maps(step, resource)
    p = resource.props
    case step[:kind]
    when :create_group
      assert_equal [:group, step[:name], [:create]], [resource.type, resource.name, resource.actions]
      assert_equal step[:gid], p[:gid]
    when :create_user
      assert_equal [:user, step[:name], [:create]], [resource.type, resource.name, resource.actions]
      assert_equal [step[:uid], step[:gid], step[:home], step[:shell], step[:comment], true],
                   p.values_at(:uid, :gid, :home, :shell, :comment, :manage_home)
    when :modify_user, :lock_user, :unlock_user, :remove_user
      action = { modify_user: :modify, lock_user: :lock, unlock_user: :unlock, remove_user: :remove }[step[:kind]]
      assert_equal [:user, step[:name], [action]], [resource.type, p[:username], resource.actions]
      %i[shell comment].each { |k| assert_equal step[k], p[k] if step.key?(k) }
      assert_equal step[:remove_home], p[:manage_home] if step[:kind] == :remove_user
    when :unlink
      assert_equal [:link, step[:path], [:delete]], [resource.type, resource.name, resource.actions]
    when :ssh_dir
      assert_equal [:directory, step[:path], step[:owner], step[:group], '0700'],
                   [resource.type, resource.name, p[:owner], p[:group], p[:mode]]
    when :key_file
      assert_equal [:file, step[:path], step[:content], step[:owner], step[:group], '0600'],
                   [resource.type, resource.name, p[:content], p[:owner], p[:group], p[:mode]]
    when :set_members
      assert_equal [:group, step[:name], step[:members], false, [:modify]],
                   [resource.type, p[:group_name], p[:members], p[:append], resource.actions]
    else
      flunk "no expectation for step #{step[:kind]}"
    end
  end
end
